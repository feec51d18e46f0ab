// One subscription at work: a durable consumer on the broker and the delivery of what it hands us.
import { setMaxListeners } from 'node:events';
import type { BrokerAdapter, Consumer, ReceivedMessage } from '../brokers/types.js';
import { Batcher } from './batch.js';
import {
  PoisonEventError,
  parseStructured,
  toBinaryRequest,
  type StructuredEvent,
} from './cloudevent-http.js';
import { deadLetterMessage } from './dead-letter.js';
import { poolFor, type SubscriberPool } from './http-post.js';
import { KeyedSerializer, Semaphore } from './limits.js';
import {
  subscriptionSeries,
  type DeadLetterCause,
  type DeliveryMetrics,
  type SubscriptionSeries,
} from './metrics.js';
import { deliverWithRetry, type Outcome } from './retry-loop.js';
import { durableName, type SubscriptionSpec } from './spec.js';

type DeadLetterOutcome = { cause: DeadLetterCause; attempts: number; status: number; reason: string };

export interface WorkerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Messages the broker may hand over per delivery slot, so the next event is ready when a slot frees
 * (2 → 4 took the embedded path from ~4.1k to ~4.8k events/s in test/bench/delivery.ts). Bounded so
 * the queue behind a slow subscriber drains within a broker's redelivery timeout (JetStream ack_wait
 * 30 s: 4 × 5 s default timeout = 20 s).
 */
const PREFETCH_FACTOR = 4;

export class SubscriptionWorker {
  private consumer: Consumer | undefined;
  private readonly abort = new AbortController();
  private readonly pool: SubscriberPool;
  private readonly limiter: Semaphore;
  private readonly keyed = new KeyedSerializer();
  private readonly url: URL;
  private readonly series: SubscriptionSeries;
  /** Set when the subscription opted into batched delivery. */
  private readonly batcher: Batcher | undefined;

  constructor(
    readonly spec: SubscriptionSpec,
    private readonly adapter: BrokerAdapter,
    metrics: DeliveryMetrics,
    private readonly log: WorkerLogger,
  ) {
    this.url = new URL(spec.url);
    this.pool = poolFor(this.url, spec.concurrency);
    this.limiter = new Semaphore(spec.concurrency);
    this.series = subscriptionSeries(metrics, spec.name);
    // Every delivery in flight (up to 2 × concurrency) listens on this one signal.
    setMaxListeners(0, this.abort.signal);
    if (spec.batch)
      this.batcher = new Batcher({
        url: this.url,
        timeoutMs: spec.timeoutMs,
        retry: spec.retry,
        batch: spec.batch,
        concurrency: spec.concurrency,
        orderedByKey: spec.orderedByKey,
        pool: this.pool,
        signal: this.abort.signal,
        onRetry: (r, events, delayMs) => {
          this.series.retried.inc(events);
          if (r.kind === 'unreachable')
            this.log.warn(
              { subscription: this.spec.name, events, error: r.error, retryInMs: delayMs },
              'subscriber unreachable; holding a batch of events',
            );
        },
      });
  }

  async start(): Promise<void> {
    this.consumer = await this.adapter.subscribe(
      {
        name: durableName(this.spec),
        patterns: this.spec.topics,
        // Batched: every batch slot full plus the one filling up.
        maxInFlight: this.spec.batch
          ? this.spec.batch.maxEvents * (this.spec.concurrency + 1)
          : this.spec.concurrency * PREFETCH_FACTOR,
      },
      (m) => this.handle(m),
    );
  }

  /** Stops taking events; events still being retried are handed back to the broker (redelivered later). */
  async stop(): Promise<void> {
    this.abort.abort(new Error(`subscription ${this.spec.name} stopped`));
    await this.consumer?.close();
    await this.pool.destroy();
  }

  private async handle(m: ReceivedMessage): Promise<void> {
    const receivedAt = performance.now();
    this.series.inFlight.inc();
    try {
      let ev: StructuredEvent;
      try {
        ev = parseStructured(m.body);
      } catch (e) {
        if (!(e instanceof PoisonEventError)) throw e;
        await this.deadLetter(m, undefined, { cause: 'poison', attempts: 0, status: 0, reason: e.message });
        return;
      }
      const key = typeof ev.partitionkey === 'string' ? ev.partitionkey : m.key;
      if (this.batcher) {
        // The batcher keeps per-key order itself (several events of a key may share one batch).
        const outcome = await this.batcher.add({ id: ev.id, key, body: m.body });
        await this.finish(m, ev, receivedAt, outcome);
        return;
      }
      const run = () => this.deliver(m, ev, receivedAt);
      await (this.spec.orderedByKey && key ? this.keyed.run(key, run) : run());
    } finally {
      this.series.inFlight.dec();
    }
  }

  private async deliver(m: ReceivedMessage, ev: StructuredEvent, receivedAt: number): Promise<void> {
    // Built once: every retry carries the same ce-id and body.
    const { headers, body } = toBinaryRequest(ev);
    const outcome = await deliverWithRetry(
      {
        url: this.url,
        timeoutMs: this.spec.timeoutMs,
        retry: this.spec.retry,
        pool: this.pool,
        limiter: this.limiter,
        signal: this.abort.signal,
        onRetry: (r, delayMs) => {
          this.series.retried.inc();
          if (r.kind === 'unreachable')
            this.log.warn(
              { subscription: this.spec.name, id: ev.id, error: r.error, retryInMs: delayMs },
              'subscriber unreachable; holding event',
            );
        },
      },
      headers,
      body,
    );
    await this.finish(m, ev, receivedAt, outcome);
  }

  private async finish(
    m: ReceivedMessage,
    ev: StructuredEvent,
    receivedAt: number,
    outcome: Outcome,
  ): Promise<void> {
    if (outcome.kind === 'delivered') {
      this.series.delivered.inc();
      this.series.duration.observe((performance.now() - receivedAt) / 1000);
      const t = typeof ev.time === 'string' ? Date.parse(ev.time) : NaN;
      if (!Number.isNaN(t)) {
        const age = Math.max(0, Date.now() - t) / 1000;
        this.series.eventAge.observe(age);
        this.series.lag.set(age);
      }
      return;
    }
    await this.deadLetter(m, ev, outcome);
  }

  /** Publishes to the dead-letter topic; if that fails the handler rejects and the broker redelivers. */
  private async deadLetter(
    m: ReceivedMessage,
    ev: StructuredEvent | undefined,
    o: DeadLetterOutcome,
  ): Promise<void> {
    const msg = deadLetterMessage(m, ev, {
      subscription: this.spec.name,
      topic: this.spec.deadLetterTopic,
      status: o.status,
      reason: o.reason,
      attempts: o.attempts,
    });
    try {
      await this.adapter.publish([msg]);
    } catch (e) {
      // Rejecting hands the event back to the broker: it is retried later, never dropped.
      this.log.error(
        {
          subscription: this.spec.name,
          id: m.id,
          deadLetterTopic: this.spec.deadLetterTopic,
          error: (e as Error).message,
        },
        'dead-letter publish failed; the broker will redeliver the event',
      );
      throw e;
    }
    this.series.deadLettered(o.cause);
    this.log.warn(
      {
        subscription: this.spec.name,
        id: m.id,
        deadLetterTopic: this.spec.deadLetterTopic,
        reason: o.reason,
        attempts: o.attempts,
      },
      'event dead-lettered',
    );
  }
}
