// `--broker` takes a URL, or just a kind for the broker's standard local address (the services
// docs/brokers.md starts): `--broker nats` = nats://127.0.0.1:4222.
import { CliError, EXIT } from '../exit-codes.js';

export const LOCAL_BROKERS: Record<string, string> = {
  nats: 'nats://127.0.0.1:4222',
  rabbitmq: 'amqp://guest:guest@127.0.0.1:5672',
  mqtt: 'mqtt://127.0.0.1:1883',
  kafka: 'kafka://127.0.0.1:9092',
};

export function brokerUrl(value: string, embeddedDir?: string): string {
  if (value === 'embedded') {
    if (!embeddedDir)
      throw new CliError('--broker embedded needs a directory: embedded:///path/to/dir', EXIT.usage);
    return `embedded://${embeddedDir}`;
  }
  const local = LOCAL_BROKERS[value];
  if (local) return local;
  if (!/^[a-z][a-z0-9+.-]*:\/\//.test(value))
    throw new CliError(
      `--broker "${value}" is neither a URL (nats://…, amqp://…, mqtt://…, kafka://…, embedded:///dir) nor one of embedded, ${Object.keys(LOCAL_BROKERS).join(', ')}`,
      EXIT.usage,
    );
  return value;
}
