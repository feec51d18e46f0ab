// The broker registry: the broker is chosen by URL scheme. Adapters are imported on demand, so a
// bridge running on one broker never loads the client libraries of the others.

import type { EmbeddedBrokerOptions } from './embedded/index.js';
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
}

export const BROKER_SCHEMES = ['embedded', 'nats', 'amqp', 'amqps', 'mqtt', 'mqtts', 'ws', 'wss'] as const;

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
    default:
      throw new Error(
        `broker URL ${JSON.stringify(url)}: unsupported scheme ${JSON.stringify(scheme ?? '')}; use one of ${BROKER_SCHEMES.map((s) => `${s}://`).join(', ')}`,
      );
  }
}
