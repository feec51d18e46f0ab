// Consumer names become broker object names (JetStream durable, AMQP queue, MQTT client id and
// share group, Kafka group id), which accept fewer characters than sidecast subscription names
// such as `notifications/notify-accounts`. One deterministic mapping for all brokers keeps a
// subscription's durable state findable across restarts and replicas.
import { createHash } from 'node:crypto';

const SAFE = /^[A-Za-z0-9_-]{1,120}$/;

/** `name` itself when brokers can carry it, else a readable form plus a hash of the original. */
export function brokerSafeName(name: string): string {
  if (name.length === 0)
    throw new Error(
      'consumer name (ConsumerSpec.name) is empty; it names the durable consumer on the broker',
    );
  if (SAFE.test(name)) return name;
  const readable = name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
  return `${readable}-${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}
