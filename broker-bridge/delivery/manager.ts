// Keeps one SubscriptionWorker per subscription in step with the desired set (from xDS or a list):
// added → start a durable consumer, changed → restart it, removed → stop it. Changes are applied one
// set at a time, in order; a consumer the broker refuses is retried until the set changes or it starts.
import type { BrokerAdapter } from '../brokers/types.js';
import { DeliveryMetrics } from './metrics.js';
import { sameSpec, type SubscriptionSpec } from './spec.js';
import { SubscriptionWorker, type WorkerLogger } from './subscription-worker.js';
import type { BridgeTracing } from '../tracing/spans.js';

export interface SubscriptionStatus {
  name: string;
  topics: string[];
  url: string;
  state: 'running' | 'failed';
  error?: string;
}

export interface ManagerOptions {
  adapter: BrokerAdapter;
  metrics?: DeliveryMetrics;
  logger: WorkerLogger;
  /** Tracing on: workers add process/attempt spans. */
  tracing?: BridgeTracing;
  /** Delay before retrying consumers the broker refused. */
  retryFailedMs?: number;
}

export class SubscriptionManager {
  private readonly workers = new Map<string, SubscriptionWorker>();
  private readonly failed = new Map<string, { spec: SubscriptionSpec; error: string }>();
  private desired: ReadonlyMap<string, SubscriptionSpec> = new Map();
  private queue: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly metrics: DeliveryMetrics;

  constructor(private readonly opts: ManagerOptions) {
    this.metrics = opts.metrics ?? new DeliveryMetrics();
  }

  /** Makes the running set equal `specs`; resolves when this set (and every earlier one) is applied. */
  apply(specs: ReadonlyMap<string, SubscriptionSpec>): Promise<void> {
    this.desired = new Map(specs);
    this.queue = this.queue.then(() => this.reconcile());
    return this.queue;
  }

  status(): SubscriptionStatus[] {
    const running = [...this.workers.values()].map((w) => ({
      name: w.spec.name,
      topics: w.spec.topics,
      url: w.spec.url,
      state: 'running' as const,
    }));
    const failed = [...this.failed.values()].map(({ spec, error }) => ({
      name: spec.name,
      topics: spec.topics,
      url: spec.url,
      state: 'failed' as const,
      error,
    }));
    return [...running, ...failed].sort((a, b) => a.name.localeCompare(b.name));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.desired = new Map();
    this.queue = this.queue.then(() => this.reconcile());
    await this.queue;
  }

  private async reconcile(): Promise<void> {
    const desired = this.desired;
    this.failed.clear();
    for (const [name, w] of this.workers) {
      const want = desired.get(name);
      if (want && sameSpec(want, w.spec)) continue;
      this.workers.delete(name);
      await w.stop();
      this.opts.logger.info(
        { subscription: name },
        want ? 'subscription changed; restarting its consumer' : 'subscription removed; consumer stopped',
      );
    }
    for (const [name, spec] of desired) {
      if (this.workers.has(name)) continue;
      const w = new SubscriptionWorker(
        spec,
        this.opts.adapter,
        this.metrics,
        this.opts.logger,
        this.opts.tracing,
      );
      try {
        await w.start();
        this.workers.set(name, w);
        this.opts.logger.info(
          { subscription: name, topics: spec.topics, url: spec.url },
          'subscription consuming',
        );
      } catch (e) {
        await w.stop().catch(() => undefined);
        const error = (e as Error).message;
        this.failed.set(name, { spec, error });
        this.opts.logger.error(
          { subscription: name, error },
          'could not start the consumer for this subscription; will retry',
        );
      }
    }
    if (this.failed.size > 0 && !this.closed) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        if (this.desired === desired) void this.apply(desired);
      }, this.opts.retryFailedMs ?? 2000);
    }
  }
}
