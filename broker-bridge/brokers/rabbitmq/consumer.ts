// One durable RabbitMQ consumer: a queue named after the consumer, bound to the exchange once per
// pattern, consumed on its own channel with prefetch = maxInFlight. It re-attaches itself on
// every reconnect; deliveries of a lost channel are redelivered by the broker.
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { ConsumerSpec, MessageHandler } from '../types.js';
import { PatternSet } from '../translate/filter.js';
import { amqpBindingKey, topicOfRoutingKey } from '../translate/amqp.js';

export const KEY_HEADER = 'sidecast-key';

export interface QueueSetup {
  exchange: string;
  queue: string;
  queueType: 'quorum' | 'classic';
  redeliveryDelayMs: number;
}

function deliveryCount(m: ConsumeMessage, queueType: QueueSetup['queueType']): number {
  // Quorum queues count earlier deliveries in x-delivery-count; classic ones only flag redelivery.
  const earlier = m.properties.headers?.['x-delivery-count'];
  if (queueType === 'quorum' && typeof earlier === 'number') return earlier + 1;
  return m.fields.redelivered ? 2 : 1;
}

export class AmqpConsumer {
  private readonly accepted: PatternSet;
  private readonly bindingKeys: string[];
  private channel?: Channel;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly spec: ConsumerSpec,
    private readonly handler: MessageHandler,
    private readonly q: QueueSetup,
  ) {
    this.accepted = new PatternSet(spec.patterns);
    this.bindingKeys = spec.patterns.map((p) => amqpBindingKey(p));
  }

  /** Declares queue and bindings (idempotent) and starts consuming on a fresh channel of `model`. */
  async attach(model: Pick<ChannelModel, 'createChannel'>): Promise<void> {
    if (this.closed) return;
    const ch = await model.createChannel();
    ch.on('error', () => {}); // a channel error also closes it; the connection's recovery takes over
    try {
      await ch.prefetch(this.spec.maxInFlight);
      await ch.assertQueue(this.q.queue, { durable: true, arguments: { 'x-queue-type': this.q.queueType } });
      for (const key of this.bindingKeys) await ch.bindQueue(this.q.queue, this.q.exchange, key);
      await ch.consume(this.q.queue, (m) => m && void this.settle(ch, m), { noAck: false });
    } catch (e) {
      await ch.close().catch(() => {});
      throw e;
    }
    // Attached twice (a reconnect raced a subscribe)? Keep one channel; the other's deliveries requeue.
    const previous = this.channel;
    this.channel = ch;
    if (previous) await previous.close().catch(() => {});
    if (this.closed) await this.close();
  }

  private async settle(ch: Channel, m: ConsumeMessage): Promise<void> {
    const topic = topicOfRoutingKey(m.fields.routingKey);
    if (!this.accepted.accepts(topic)) return this.safely(() => ch.ack(m)); // '#' matched zero levels
    const key = m.properties.headers?.[KEY_HEADER];
    try {
      await this.handler({
        id: String(m.properties.messageId ?? ''),
        topic,
        key: typeof key === 'string' ? key : undefined,
        body: new Uint8Array(m.content),
        deliveryCount: deliveryCount(m, this.q.queueType),
      });
      this.safely(() => ch.ack(m));
    } catch {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.safely(() => ch.nack(m, false, true));
      }, this.q.redeliveryDelayMs);
      this.timers.add(t);
    }
  }

  /** Acks on a channel that died are moot: the broker redelivers what was unacknowledged. */
  private safely(settle: () => void): void {
    try {
      settle();
    } catch {
      /* channel closed */
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const ch = this.channel;
    this.channel = undefined;
    // Closing the channel returns its unacknowledged deliveries to the queue; the queue stays (durable).
    if (ch) await ch.close().catch(() => {});
  }
}
