// The broker registry: the broker is chosen by URL scheme. Adapters are imported on demand, so a
// bridge running on one broker never loads the client libraries of the others.

import type { EmbeddedBrokerOptions } from './embedded/index.js';
import type { KafkaAdapterOptions } from './kafka/options.js';
import type { MqttAdapterOptions } from './mqtt/options.js';
import type { NatsAdapterOptions } from './nats/options.js';
import type { RabbitMqAdapterOptions } from './rabbitmq/options.js';
import type { BrokerAdapter } from './types.js';

/** Per-kind settings beyond the URL (from the bridge config's `broker.options`). */
export interface BrokerOptions {
  embedded?: EmbeddedBrokerOptions;
  nats?: Omit<NatsAdapterOptions, 'servers'>;
  rabbitmq?: Omit<RabbitMqAdapterOptions, 'url'>;
  mqtt?: Omit<MqttAdapterOptions, 'url'>;
  kafka?: Omit<KafkaAdapterOptions, 'brokers'>;
}

export const BROKER_SCHEMES = [
  'embedded',
  'nats',
  'amqp',
  'amqps',
  'mqtt',
  'mqtts',
  'ws',
  'wss',
  'kafka',
] as const;

export async function createBroker(url: string, options: BrokerOptions = {}): Promise<BrokerAdapter> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'embedded': {
      const { EmbeddedBroker } = await import('./embedded/index.js');
      return EmbeddedBroker.fromUrl(url, options.embedded);
    }
    case 'nats': {
      const { NatsAdapter } = await import('./nats/adapter.js');
      return new NatsAdapter({ ...options.nats, servers: url });
    }
    case 'amqp':
    case 'amqps': {
      const { RabbitMqAdapter } = await import('./rabbitmq/adapter.js');
      return new RabbitMqAdapter({ ...options.rabbitmq, url });
    }
    case 'mqtt':
    case 'mqtts':
    case 'ws':
    case 'wss': {
      const { MqttAdapter } = await import('./mqtt/adapter.js');
      return new MqttAdapter({ ...options.mqtt, url });
    }
    case 'kafka': {
      // kafka://host1:9092,host2:9092 — the bootstrap brokers.
      const { KafkaAdapter } = await import('./kafka/adapter.js');
      const brokers = url.slice('kafka://'.length).split(/[/?]/)[0]!.split(',').filter(Boolean);
      if (brokers.length === 0)
        throw new Error(
          `broker URL ${JSON.stringify(url)}: name at least one bootstrap broker, e.g. kafka://127.0.0.1:9092`,
        );
      return new KafkaAdapter({ ...options.kafka, brokers });
    }
    default:
      throw new Error(
        `broker URL ${JSON.stringify(url)}: unsupported scheme ${JSON.stringify(scheme ?? '')}; use one of ${BROKER_SCHEMES.map((s) => `${s}://`).join(', ')}`,
      );
  }
}
