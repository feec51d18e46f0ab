// Subscription delivery for a bridge: where the subscriptions come from (the xds-server over delta
// ADS, or a fixed list) and the manager that keeps one durable consumer per subscription.
import { Gauge, type Registry } from 'prom-client';
import type { Bridge } from '../index.js';
import { UnrepresentableTopicError, type BrokerAdapter } from '../brokers/types.js';
import { DeltaXdsClient, type DeltaClientStatus } from '../xds/delta-client.js';
import { decodeSubscription, SUBSCRIPTION_TYPE_URL } from '../xds/subscription-resource.js';
import { SubscriptionManager, type SubscriptionStatus } from './manager.js';
import { DeliveryMetrics } from './metrics.js';
import type { SubscriptionSpec } from './spec.js';
import type { WorkerLogger } from './subscription-worker.js';
import type { BridgeTracing } from '../tracing/spans.js';
import { attachContracts } from '../contracts/index.js';

export type { SubscriptionSpec } from './spec.js';

export interface XdsSource {
  /** host:port of the xds-server's ADS listener. */
  server: string;
  /** This bridge's node id; replicas use distinct ids, they share the durable consumers anyway. */
  nodeId: string;
  cluster?: string;
  /** How long start() waits for the first subscription set before going on without it. */
  initialWaitMs?: number;
}

export interface DeliveryOptions {
  adapter: BrokerAdapter;
  logger: WorkerLogger;
  /** Registry the delivery metrics are added to (the bridge's /metrics registry). */
  registry?: Registry;
  xds?: XdsSource;
  /** Tracing on (the bridge's `tracing`). */
  tracing?: BridgeTracing;
  /** A fixed set instead of (or before) xDS; mostly for tests and single-file setups. */
  subscriptions?: SubscriptionSpec[];
}

export interface DeliveryStatus {
  subscriptions: SubscriptionStatus[];
  xds?: DeltaClientStatus;
}

export interface Delivery {
  status(): DeliveryStatus;
  close(): Promise<void>;
}

/**
 * decodeSubscription plus what only the bridge knows: whether its broker can carry every pattern.
 * A Subscription it cannot carry is NACKed (its last good version, if any, keeps running), so the
 * xds-server shows why, and no consumer is retried forever for it.
 */
export function subscriptionDecoder(
  adapter: BrokerAdapter,
): (name: string, bytes: Uint8Array) => SubscriptionSpec {
  return (name, bytes) => {
    const spec = decodeSubscription(name, bytes);
    spec.topics.forEach((pattern, i) => {
      try {
        adapter.checkPattern(pattern);
      } catch (e) {
        if (!(e instanceof UnrepresentableTopicError)) throw e;
        throw new Error(
          `subscription ${JSON.stringify(name)}: topics[${i}] ${JSON.stringify(pattern)}: ${e.message}; change the pattern (its other topics are not consumed either until then)`,
        );
      }
    });
    return spec;
  };
}

/** Subscriptions NACKed for this bridge, as a gauge per name (1 while refused). */
function rejectedGauge(registry: Registry, rejected: () => Record<string, string>): void {
  new Gauge({
    name: 'sidecast_delivery_subscription_rejected',
    help: 'Subscription resources this bridge NACKed (1 while refused; the reason is in /readyz and the xds-server /debug/syncz)',
    labelNames: ['subscription'],
    registers: [registry],
    collect() {
      this.reset();
      for (const name of Object.keys(rejected())) this.set({ subscription: name }, 1);
    },
  });
}

export async function startDelivery(opts: DeliveryOptions): Promise<Delivery> {
  const manager = new SubscriptionManager({
    adapter: opts.adapter,
    logger: opts.logger,
    metrics: new DeliveryMetrics(opts.registry),
    ...(opts.tracing ? { tracing: opts.tracing } : {}),
  });
  const fixed = new Map((opts.subscriptions ?? []).map((s) => [s.name, s]));
  let applied = manager.apply(fixed);
  let xds: DeltaXdsClient<SubscriptionSpec> | undefined;
  if (opts.xds) {
    const src = opts.xds;
    xds = new DeltaXdsClient<SubscriptionSpec>({
      server: src.server,
      node: {
        id: src.nodeId,
        ...(src.cluster ? { cluster: src.cluster } : {}),
        metadata: { 'sidecast.role': 'bridge' },
      },
      typeUrl: SUBSCRIPTION_TYPE_URL,
      decode: subscriptionDecoder(opts.adapter),
      onChange: (fromXds) => {
        applied = manager.apply(new Map([...fixed, ...fromXds]));
      },
      logger: opts.logger,
    });
    const client = xds;
    if (opts.registry) rejectedGauge(opts.registry, () => client.status().rejected);
    xds.start();
    await xds
      .ready(src.initialWaitMs ?? 5000)
      .catch((e: Error) =>
        opts.logger.warn(
          { error: e.message },
          'starting without subscriptions from xDS; they apply when it answers',
        ),
      );
  }
  await applied;
  return {
    status: () => ({ subscriptions: manager.status(), ...(xds ? { xds: xds.status() } : {}) }),
    close: async () => {
      xds?.close();
      await manager.close();
    },
  };
}

/**
 * Adds subscription delivery to a bridge from createBridge(): same broker, metrics registry and
 * logger; stopped by bridge.stop() after ingest has drained and before the broker closes.
 */
export async function attachDelivery(
  bridge: Bridge,
  source: Pick<DeliveryOptions, 'xds' | 'subscriptions'>,
): Promise<Delivery> {
  const delivery = await startDelivery({
    adapter: bridge.broker,
    logger: bridge.logger.child({ component: 'delivery' }),
    registry: bridge.metrics.registry,
    ...(bridge.tracing ? { tracing: bridge.tracing } : {}),
    ...source,
  });
  bridge.onStop(() => delivery.close());
  bridge.addReadinessDetail('subscriptions', () => {
    const rejected = delivery.status().xds?.rejected ?? {};
    return {
      value: { rejected },
      reasons: Object.entries(rejected).map(([name, why]) => `subscription ${name} refused (NACK): ${why}`),
    };
  });
  // The same control plane serves the data contracts ingest checks (broker-bridge/contracts/).
  if (source.xds) attachContracts(bridge, source.xds);
  return delivery;
}
