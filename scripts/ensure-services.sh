#!/usr/bin/env bash
# Starts the local brokers the tests use if one is not answering (commands from the machine's
# service notes). Idempotent; prints one line per service.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ensure() {
  local name=$1 port=$2; shift 2
  if up "$port"; then echo "services: $name up on :$port"; return; fi
  echo "services: starting $name"
  "$@" >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do up "$port" && { echo "services: $name up on :$port"; return; }; sleep 1; done
  echo "services: $name did not come up on :$port (tests that need it will fail under CI)"
}
ensure nats 4222 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
ensure rabbitmq 5672 rabbitmq-server -detached
ensure mosquitto 1883 mosquitto -d -c /etc/mosquitto/mosquitto.conf
exit 0
