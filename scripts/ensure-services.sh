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

# OCI registry (Debian's docker-registry) for the Wasm image push tests, pulled back with skopeo.
# Two instances on loopback, both with basic auth (scripts/registry/htpasswd): plain HTTP :5000 and
# HTTPS :5443 with a self-signed certificate made here (/var/lib/sidecast-registry/tls/cert.pem).
if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
  echo "services: installing docker-registry and skopeo (apt)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry skopeo) >/dev/null 2>&1 ||
    echo "services: apt-get install docker-registry skopeo failed (registry tests will fail under CI)"
fi
if command -v docker-registry >/dev/null; then
  registry_dir=/var/lib/sidecast-registry
  here=$(cd "$(dirname "$0")" && pwd)
  mkdir -p "$registry_dir/tls" && cp "$here/registry/htpasswd" "$registry_dir/htpasswd"
  [ -s "$registry_dir/tls/cert.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$registry_dir/tls/key.pem" -out "$registry_dir/tls/cert.pem" >/dev/null 2>&1
  for v in plain:5000 tls:5443; do
    ensure "registry-${v%%:*}" "${v##*:}" start-stop-daemon --start --background --make-pidfile --pidfile "$registry_dir/${v%%:*}.pid" \
      --exec /usr/bin/docker-registry -- serve "$here/registry/config-${v%%:*}.yml"
  done
fi
exit 0
