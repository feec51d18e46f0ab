// RabbitMQ adapter (AMQP 0-9-1 via amqplib). Publish: durable topic exchange, persistent
// messages, routing key = levels joined by '.', on a ConfirmChannel; publish resolves when every
// publisher confirm of the batch arrived. Consume: see consumer.ts. amqplib's opt-in recovery
// reconnects with our backoff and runs `setup` after each (re)connect, which rebuilds the publish
// channel and re-attaches every live consumer.
import { connect, type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import {
  BrokerUnavailableError,
  type BrokerAdapter,
  type BrokerMessage,
  type Consumer,
  type ConsumerSpec,
  type MessageHandler,
} from '../types.js';
import { amqpBindingKey, amqpRoutingKey } from '../translate/amqp.js';
import { backoffDelay, DEFAULT_RECONNECT, reason } from '../shared/backoff.js';
import { brokerSafeName } from '../shared/names.js';
import { LiveConsumers } from '../shared/live-consumers.js';
import { ReconnectListeners } from '../shared/reconnect-listeners.js';
import { within } from '../shared/within.js';
import { AmqpConsumer, KEY_HEADER } from './consumer.js';
import type { RabbitMqAdapterOptions } from './options.js';

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export class RabbitMqAdapter implements BrokerAdapter {
  readonly kind = 'rabbitmq' as const;
  private readonly exchange: string;
  private conn?: RecoveringChannelModel;
  private publishChannel?: ConfirmChannel;
  private connected = false;
  private readonly consumers = new LiveConsumers<AmqpConsumer>();
  private readonly reconnects = new ReconnectListeners();

  constructor(private readonly opts: RabbitMqAdapterOptions) {
    this.exchange = opts.exchange ?? 'sidecast';
  }

  async connect(): Promise<void> {
    if (this.conn) return;
    const backoff = this.opts.reconnect ?? DEFAULT_RECONNECT;
    const url = new URL(this.opts.url);
    if (!url.searchParams.has('heartbeat'))
      url.searchParams.set('heartbeat', String(this.opts.heartbeatSeconds ?? 10));
    try {
      this.conn = await connect(url.toString(), {
        recovery: {
          initialMaxRetries: 0, // startup fails fast; the caller decides when to try again
          maxRetries: Infinity,
          calculateDelay: (attempt) => backoffDelay(attempt - 1, backoff),
          setup: (model: ChannelModel) => this.setup(model),
        },
      });
    } catch (e) {
      throw new BrokerUnavailableError(
        'rabbitmq',
        `cannot connect to ${redact(this.opts.url)}: ${reason(e)}`,
        { cause: e },
      );
    }
    // Registered after the first connect: 'connect' from here on is amqplib's recovery, emitted once
    // setup() has the confirm channel again.
    this.conn.on('connect', () => {
      this.connected = true;
      this.reconnects.notify();
    });
    this.conn.on('disconnect', () => {
      this.connected = false;
      this.publishChannel = undefined;
    });
    this.conn.on('error', () => {}); // surfaced as 'disconnect' and isConnected()
    this.connected = true;
  }

  /** Runs after every (re)connect, before the connection counts as up. */
  private async setup(model: ChannelModel): Promise<void> {
    const ch = await model.createConfirmChannel();
    ch.on('error', () => {});
    await ch.assertExchange(this.exchange, 'topic', { durable: true });
    for (const c of this.consumers) await c.attach(model);
    this.publishChannel = ch;
  }

  checkPattern(pattern: string): void {
    amqpBindingKey(pattern);
  }

  isConnected(): boolean {
    return this.connected && this.publishChannel !== undefined;
  }

  onReconnect(listener: () => void): void {
    this.reconnects.add(listener);
  }

  async publish(batch: BrokerMessage[]): Promise<void> {
    const keys = batch.map((m) => amqpRoutingKey(m.topic)); // all or nothing
    if (batch.length === 0) return;
    const ch = this.publishChannel;
    if (!this.connected || !ch)
      throw new BrokerUnavailableError('rabbitmq', `not connected to ${redact(this.opts.url)}`);
    const confirms = batch.map(
      (m, i) =>
        new Promise<void>((resolve, reject) => {
          ch.publish(
            this.exchange,
            keys[i]!,
            Buffer.from(m.body),
            {
              persistent: true,
              messageId: m.id,
              contentType: 'application/cloudevents+json',
              headers: m.key === undefined ? {} : { [KEY_HEADER]: m.key },
            },
            (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
          );
        }),
    );
    const timeoutMs = this.opts.publishTimeoutMs ?? 5_000;
    try {
      await within(Promise.all(confirms), timeoutMs, `no publisher confirm within ${timeoutMs} ms`);
    } catch (e) {
      throw new BrokerUnavailableError(
        'rabbitmq',
        `batch of ${batch.length} not confirmed by exchange ${this.exchange}: ${reason(e)}`,
        { cause: e },
      );
    }
  }

  async subscribe(spec: ConsumerSpec, handler: MessageHandler): Promise<Consumer> {
    const consumer = new AmqpConsumer(spec, handler, {
      exchange: this.exchange,
      queue: `${this.opts.queuePrefix ?? 'sidecast.'}${brokerSafeName(spec.name)}`,
      queueType: this.opts.queueType ?? 'quorum',
      redeliveryDelayMs: this.opts.redeliveryDelayMs ?? 1_000,
    });
    const conn = this.conn;
    if (!this.connected || !conn)
      throw new BrokerUnavailableError('rabbitmq', `not connected to ${redact(this.opts.url)}`);
    // Tracked before attaching, so a reconnect during the attach re-attaches it too.
    const handle = this.consumers.track(consumer);
    try {
      await consumer.attach(conn);
    } catch (e) {
      await handle.close();
      throw new BrokerUnavailableError(
        'rabbitmq',
        `cannot set up queue for consumer ${spec.name}: ${reason(e)}`,
        { cause: e },
      );
    }
    return handle;
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    this.connected = false;
    this.publishChannel = undefined;
    await this.consumers.closeAll();
    if (conn) await conn.close().catch(() => {});
  }
}
