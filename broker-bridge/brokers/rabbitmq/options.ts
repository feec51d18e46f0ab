import type { BackoffOptions } from '../shared/backoff.js';

export interface RabbitMqAdapterOptions {
  /** AMQP 0-9-1 URL, e.g. `amqp://guest:guest@127.0.0.1:5672/%2F` (amqps:// for TLS). */
  url: string;
  /** Durable topic exchange events are published to (declared if missing). Default `sidecast`. */
  exchange?: string;
  /** Prefix of the durable queue of each consumer: `<queuePrefix><consumer name>`. Default `sidecast.`. */
  queuePrefix?: string;
  /**
   * `quorum` (default): replicated, and RabbitMQ counts deliveries (x-delivery-count), so
   * deliveryCount is exact. `classic`: deliveryCount is only 1 or 2 (the redelivered flag).
   */
  queueType?: 'quorum' | 'classic';
  /** How long publish waits for every publisher confirm before rejecting. Default 5 s. */
  publishTimeoutMs?: number;
  /** How long a rejected message is held before it is requeued (RabbitMQ has no delayed nack). Default 1 s. */
  redeliveryDelayMs?: number;
  /** AMQP heartbeat; bounds how long a silently dead connection looks alive. Default 10 s. */
  heartbeatSeconds?: number;
  reconnect?: BackoffOptions;
}
