// One Kafka consumer group per ConsumerSpec.name (replicas join the same group and split the
// partitions). A group that has never committed is pinned to the current end of each exact-name
// topic before it first joins, so "durable from subscribe on" holds as for the other brokers.
// Kafka has no per-message nack: a rejected event is offered again after a delay while its
// partition waits (order per key is kept); the offset is committed only once the handler resolved.
import type { Admin, Consumer as KafkaConsumer, Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerSpec, MessageHandler } from '../types.js';
import { PatternSet } from '../translate/filter.js';
import { kafkaSubscription } from '../translate/kafka.js';
import { brokerSafeName } from '../shared/names.js';

export const ID_HEADER = 'ce_id';
export const TOPIC_HEADER = 'sidecast_topic';
const JOIN_TIMEOUT_MS = 30_000;

export interface GroupSetup {
  topicLevels: number;
  redeliveryDelayMs: number;
  startAt: 'new' | 'all';
}

function header(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : one.toString();
}

export class KafkaGroup {
  private consumer?: KafkaConsumer;
  private readonly accepted: PatternSet;
  private readonly subscriptions: Array<string | RegExp>;
  private readonly stop = new AbortController();
  readonly groupId: string;

  constructor(
    private readonly spec: ConsumerSpec,
    private readonly handler: MessageHandler,
    private readonly g: GroupSetup,
  ) {
    this.accepted = new PatternSet(spec.patterns);
    this.subscriptions = spec.patterns.map((p) => kafkaSubscription(p, g.topicLevels));
    this.groupId = brokerSafeName(spec.name);
  }

  async start(kafka: Kafka, admin: Admin): Promise<void> {
    const exact = [...new Set(this.subscriptions.filter((s): s is string => typeof s === 'string'))];
    if (exact.length > 0) await admin.createTopics({ topics: exact.map((topic) => ({ topic })) });
    if (this.g.startAt === 'new') await this.pinNewGroup(admin, exact);
    const consumer = kafka.consumer({ groupId: this.groupId });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: this.subscriptions, fromBeginning: this.g.startAt === 'all' });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      partitionsConsumedConcurrently: Math.max(1, this.spec.maxInFlight),
      eachMessage: async ({ message }) => {
        const topic = header(message.headers?.[TOPIC_HEADER]);
        if (topic === undefined || !this.accepted.accepts(topic)) return; // the topic regex over-matched
        const base = {
          id: header(message.headers?.[ID_HEADER]) ?? '',
          topic,
          key: message.key?.toString(),
          body: new Uint8Array(message.value ?? Buffer.alloc(0)),
        };
        for (let deliveryCount = 1; ; deliveryCount++) {
          if (this.stop.signal.aborted) throw new Error('consumer closed; the offset stays uncommitted');
          try {
            return await this.handler({ ...base, deliveryCount });
          } catch {
            await sleep(this.g.redeliveryDelayMs, undefined, { signal: this.stop.signal }).catch(() => {});
          }
        }
      },
    });
    const waited = new AbortController();
    try {
      await Promise.race([
        joined,
        sleep(JOIN_TIMEOUT_MS, undefined, { signal: waited.signal }).then(() => {
          throw new Error(`group did not join within ${JOIN_TIMEOUT_MS} ms`);
        }),
      ]);
    } finally {
      waited.abort(); // no timer left behind
    }
  }

  /** Commits the current end offsets for topics this group has never committed on. */
  private async pinNewGroup(admin: Admin, topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    const committed = await admin.fetchOffsets({ groupId: this.groupId, topics });
    for (const t of committed) {
      if (t.partitions.some((p) => Number(p.offset) >= 0)) continue;
      const ends = await admin.fetchTopicOffsets(t.topic);
      await admin.setOffsets({
        groupId: this.groupId,
        topic: t.topic,
        partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })),
      });
    }
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.consumer?.disconnect();
  }
}
