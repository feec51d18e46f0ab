// Kafka adapter (kafkajs). Publish: idempotent producer (acks=all, one request in flight, so
// retries neither duplicate nor reorder), key = partitionkey, Kafka topic from the leading topic
// levels, the full sidecast topic and the event id in headers. Consume: see consumer.ts.
// kafkajs reconnects per request and says nothing when a broker goes away, so isConnected() is
// driven by outcomes: a failed publish marks the adapter down and a probe with backoff
// (describeCluster) marks it up again.
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import {
  BrokerUnavailableError,
  type BrokerAdapter,
  type BrokerMessage,
  type Consumer,
  type ConsumerSpec,
  type MessageHandler,
} from '../types.js';
import { checkLevelsSetting, kafkaSubscription, kafkaTopicName } from '../translate/kafka.js';
import { backoffDelay, DEFAULT_RECONNECT, reason } from '../shared/backoff.js';
import { LiveConsumers } from '../shared/live-consumers.js';
import { within } from '../shared/within.js';
import { ID_HEADER, KafkaGroup, TOPIC_HEADER } from './consumer.js';
import type { KafkaAdapterOptions } from './options.js';

export class KafkaAdapter implements BrokerAdapter {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly levels: number;
  private producer?: Producer;
  private admin?: Admin;
  private healthy = false;
  private probe?: NodeJS.Timeout;
  private readonly groups = new LiveConsumers<KafkaGroup>();

  constructor(private readonly opts: KafkaAdapterOptions) {
    this.levels = opts.topicLevels ?? 1;
    checkLevelsSetting(this.levels); // refuse a bad setting now, not at the first publish
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'sidecast-bridge',
      brokers: opts.brokers,
      ssl: opts.ssl,
      sasl: opts.sasl,
      connectionTimeout: 3_000,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
      logLevel: logLevel.NOTHING,
    });
  }

  async connect(): Promise<void> {
    if (this.producer) return;
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
    });
    const admin = this.kafka.admin();
    try {
      await producer.connect();
      await admin.connect();
    } catch (e) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw new BrokerUnavailableError(
        'kafka',
        `cannot connect to ${this.opts.brokers.join(',')}: ${reason(e)}`,
        { cause: e },
      );
    }
    [this.producer, this.admin, this.healthy] = [producer, admin, true];
  }

  checkPattern(pattern: string): void {
    kafkaSubscription(pattern, this.levels);
  }

  isConnected(): boolean {
    return this.producer !== undefined && this.healthy;
  }

  private markDown(): void {
    this.healthy = false;
    if (this.probe) return;
    const attempt = (n: number): void => {
      this.probe = setTimeout(
        () => {
          this.admin?.describeCluster().then(
            () => {
              this.probe = undefined;
              this.healthy = this.producer !== undefined;
            },
            () => attempt(n + 1),
          );
        },
        backoffDelay(n, this.opts.reconnect ?? DEFAULT_RECONNECT),
      );
    };
    attempt(0);
  }

  async publish(batch: BrokerMessage[]): Promise<void> {
    const names = batch.map((m) => kafkaTopicName(m.topic, this.levels)); // all or nothing
    if (batch.length === 0) return;
    const producer = this.producer;
    if (!producer || !this.healthy)
      throw new BrokerUnavailableError('kafka', `not connected to ${this.opts.brokers.join(',')}`);
    const byTopic = new Map<
      string,
      Array<{ key?: string; value: Buffer; headers: Record<string, string> }>
    >();
    batch.forEach((m, i) => {
      const list = byTopic.get(names[i]!) ?? [];
      list.push({
        key: m.key,
        value: Buffer.from(m.body),
        headers: { [ID_HEADER]: m.id, [TOPIC_HEADER]: m.topic },
      });
      byTopic.set(names[i]!, list);
    });
    const timeoutMs = this.opts.publishTimeoutMs ?? 5_000;
    const sent = producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    try {
      await within(sent, timeoutMs, `not acknowledged within ${timeoutMs} ms`);
    } catch (e) {
      this.markDown();
      throw new BrokerUnavailableError('kafka', `batch of ${batch.length} not acknowledged: ${reason(e)}`, {
        cause: e,
      });
    }
  }

  async subscribe(spec: ConsumerSpec, handler: MessageHandler): Promise<Consumer> {
    const group = new KafkaGroup(spec, handler, {
      topicLevels: this.levels,
      redeliveryDelayMs: this.opts.redeliveryDelayMs ?? 1_000,
      startAt: this.opts.startAt ?? 'new',
    });
    const admin = this.admin;
    if (!admin || !this.healthy)
      throw new BrokerUnavailableError('kafka', `not connected to ${this.opts.brokers.join(',')}`);
    try {
      await group.start(this.kafka, admin);
    } catch (e) {
      await group.close().catch(() => {});
      throw new BrokerUnavailableError(
        'kafka',
        `cannot start consumer group ${group.groupId}: ${reason(e)}`,
        { cause: e },
      );
    }
    return this.groups.track(group);
  }

  async close(): Promise<void> {
    clearTimeout(this.probe);
    this.probe = undefined;
    const [producer, admin] = [this.producer, this.admin];
    [this.producer, this.admin, this.healthy] = [undefined, undefined, false];
    await this.groups.closeAll();
    await Promise.allSettled([producer?.disconnect(), admin?.disconnect()]);
  }
}
