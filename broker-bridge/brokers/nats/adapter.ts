// NATS JetStream adapter. Publish: one stream ensured over `<prefix>.>`, Nats-Msg-Id = event id
// (the stream's duplicate window turns retries into no-ops), all PubAcks of a batch pipelined
// (pub-acks.ts).
// Consume: one durable pull consumer per ConsumerSpec.name, shared by every replica (competing),
// explicit ack, nak with delay on handler rejection, max_ack_pending = maxInFlight.
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import {
  BrokerUnavailableError,
  type BrokerAdapter,
  type BrokerMessage,
  type Consumer,
  type ConsumerSpec,
  type MessageHandler,
} from '../types.js';
import {
  checkSubjectPrefix,
  coveringFilter,
  natsFilter,
  natsSubject,
  topicOfSubject,
} from '../translate/nats.js';
import { PatternSet } from '../translate/filter.js';
import { backoffDelay, reason } from '../shared/backoff.js';
import { brokerSafeName } from '../shared/names.js';
import { LiveConsumers } from '../shared/live-consumers.js';
import { ReconnectListeners } from '../shared/reconnect-listeners.js';
import { NATS_DEFAULT_RECONNECT, type NatsAdapterOptions } from './options.js';
import { JsMsgSettler } from './settler.js';
import { MSG_ID_HEADER, PubAckPipeline } from './pub-acks.js';

const KEY_HEADER = 'Sidecast-Key';
function apiErrorCode(e: unknown): number | undefined {
  return e instanceof JetStreamApiError ? e.code : undefined;
}

export class NatsAdapter implements BrokerAdapter {
  readonly kind = 'nats' as const;
  private readonly stream: string;
  private readonly prefix: string;
  private nc?: NatsConnection;
  private js?: JetStreamClient;
  private jsm?: JetStreamManager;
  private pubAcks?: PubAckPipeline;
  private connected = false;
  private reconnectAttempt = 0;
  private readonly reconnects = new ReconnectListeners();
  private readonly consumers = new LiveConsumers<{ close(): Promise<void> }>();

  constructor(private readonly opts: NatsAdapterOptions) {
    this.stream = opts.stream ?? 'SIDECAST';
    this.prefix = checkSubjectPrefix(opts.subjectPrefix ?? 'sidecast');
  }

  async connect(): Promise<void> {
    if (this.nc && !this.nc.isClosed()) return;
    const backoff = this.opts.reconnect ?? NATS_DEFAULT_RECONNECT;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: this.opts.servers,
        name: this.opts.name ?? 'sidecast-bridge',
        user: this.opts.user,
        pass: this.opts.pass,
        token: this.opts.token,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () => backoffDelay(this.reconnectAttempt++, backoff),
        pingInterval: this.opts.pingIntervalMs ?? 10_000,
        // nats.js otherwise builds two Error stacks per request (every publish awaits a PubAck
        // request): ~4% of the bridge's CPU at 3k events/s, for traces our errors already replace.
        noAsyncTraces: true,
      });
    } catch (e) {
      throw new BrokerUnavailableError(
        'nats',
        `cannot connect to ${String(this.opts.servers)}: ${reason(e)} (is nats-server running with JetStream, -js?)`,
        { cause: e },
      );
    }
    this.nc = nc;
    this.connected = true;
    void this.watchStatus(nc);
    try {
      this.jsm = await jetstreamManager(nc);
      this.js = jetstream(nc);
      await this.ensureStream(this.jsm);
      this.pubAcks = new PubAckPipeline(nc, this.stream);
    } catch (e) {
      await this.close();
      throw e instanceof BrokerUnavailableError
        ? e
        : new BrokerUnavailableError('nats', `JetStream not usable: ${reason(e)}`, { cause: e });
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        // PubAcks of what was in flight cannot come over this connection any more; whatever the
        // stream did store is deduplicated by Nats-Msg-Id when the spool replays it.
        this.pubAcks?.failPending('connection to NATS lost before the stream acknowledged');
      }
      if (s.type === 'reconnect') {
        this.connected = true;
        this.reconnectAttempt = 0;
        this.reconnects.notify();
      }
    }
  }

  onReconnect(listener: () => void): void {
    this.reconnects.add(listener);
  }

  private async ensureStream(jsm: JetStreamManager): Promise<void> {
    const subject = `${this.prefix}.>`;
    try {
      const info = await jsm.streams.info(this.stream);
      if (!info.config.subjects.includes(subject)) {
        await jsm.streams.update(this.stream, {
          ...info.config,
          subjects: [...info.config.subjects, subject],
        });
      }
    } catch (e) {
      if (apiErrorCode(e) !== JetStreamApiCodes.StreamNotFound) throw e;
      await jsm.streams.add({
        name: this.stream,
        subjects: [subject],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        duplicate_window: nanos(this.opts.duplicateWindowMs ?? 120_000),
        max_age: nanos(this.opts.maxAgeMs ?? 7 * 24 * 3600_000),
      });
    }
  }

  checkPattern(pattern: string): void {
    natsFilter(this.prefix, pattern);
  }

  isConnected(): boolean {
    return this.connected && this.nc !== undefined && !this.nc.isClosed();
  }

  private live(): { js: JetStreamClient; jsm: JetStreamManager; pubAcks: PubAckPipeline } {
    if (!this.isConnected() || !this.js || !this.jsm || !this.pubAcks)
      throw new BrokerUnavailableError('nats', `not connected to ${String(this.opts.servers)}`);
    return { js: this.js, jsm: this.jsm, pubAcks: this.pubAcks };
  }

  async publish(batch: BrokerMessage[]): Promise<void> {
    // Translate everything first: a batch with an unrepresentable topic publishes nothing.
    const subjects = batch.map((m) => natsSubject(this.prefix, m.topic));
    if (batch.length === 0) return;
    const { pubAcks } = this.live();
    const failed = await pubAcks.publish(
      batch.map((m, i) => ({
        subject: subjects[i]!,
        id: m.id,
        body: m.body,
        headers: m.key === undefined ? undefined : { [KEY_HEADER]: m.key },
      })),
      this.opts.publishTimeoutMs ?? 5_000,
    );
    if (failed.length > 0) {
      throw new BrokerUnavailableError(
        'nats',
        `${failed.length} of ${batch.length} events not acknowledged by stream ${this.stream}: ${failed[0]!.subject}: ${failed[0]!.reason}`,
      );
    }
  }

  async subscribe(spec: ConsumerSpec, handler: MessageHandler): Promise<Consumer> {
    const accepted = new PatternSet(spec.patterns);
    const filter = coveringFilter(this.prefix, spec.patterns);
    const durable = brokerSafeName(spec.name);
    const { js, jsm } = this.live();
    await this.ensureConsumer(jsm, durable, filter, spec.maxInFlight);
    const consumer = await js.consumers.get(this.stream, durable);
    const settler = new JsMsgSettler(this.opts.ackWaitMs ?? 30_000, this.opts.redeliveryDelayMs ?? 1_000);
    const settle = async (m: JsMsg): Promise<void> => {
      const topic = topicOfSubject(this.prefix, m.subject);
      if (!accepted.accepts(topic)) return settler.ack(m); // the covering filter let it through
      settler.hold(m);
      try {
        await handler({
          id: m.headers?.get(MSG_ID_HEADER) ?? '',
          topic,
          key: m.headers?.get(KEY_HEADER) || undefined,
          body: m.data,
          // Parsed from the reply subject only if asked for (the delivery path does not).
          get deliveryCount() {
            return m.info.deliveryCount;
          },
        });
        settler.ack(m);
      } catch {
        settler.nak(m);
      }
    };
    // Callback mode: each message goes straight from the socket parser to settle(); the async
    // iterator costs several promises and microtask hops per message and queues the next pull
    // request behind the messages not yet yielded.
    const messages = await consumer.consume({
      max_messages: spec.maxInFlight,
      callback: (m) => void settle(m),
    });
    return this.consumers.track({
      close: async () => {
        await messages.close();
        settler.close();
      },
    });
  }

  private async ensureConsumer(
    jsm: JetStreamManager,
    durable: string,
    filter: string,
    maxInFlight: number,
  ): Promise<void> {
    const wanted: Partial<ConsumerConfig> = {
      filter_subject: filter,
      max_ack_pending: maxInFlight,
      ack_wait: nanos(this.opts.ackWaitMs ?? 30_000),
    };
    try {
      const info = await jsm.consumers.info(this.stream, durable);
      const c = info.config;
      if (
        c.filter_subject !== wanted.filter_subject ||
        c.max_ack_pending !== wanted.max_ack_pending ||
        c.ack_wait !== wanted.ack_wait
      ) {
        await jsm.consumers.update(this.stream, durable, wanted);
      }
    } catch (e) {
      if (apiErrorCode(e) !== JetStreamApiCodes.ConsumerNotFound)
        throw new BrokerUnavailableError(
          'nats',
          `cannot set up durable consumer ${durable} on stream ${this.stream}: ${reason(e)}`,
          { cause: e },
        );
      await jsm.consumers.add(this.stream, {
        ...wanted,
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: this.opts.startAt === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
        max_deliver: -1,
      });
    }
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.connected = false;
    await this.consumers.closeAll();
    this.pubAcks?.close();
    this.pubAcks = undefined;
    if (nc && !nc.isClosed()) await nc.close();
  }
}
