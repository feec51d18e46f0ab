// The delivery engine over real brokers: the embedded one and NATS JetStream on 127.0.0.1:4222.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { EmbeddedBroker } from '../../broker-bridge/brokers/embedded/index.js';
import { NatsAdapter } from '../../broker-bridge/brokers/nats/adapter.js';
import type { BrokerAdapter, ReceivedMessage } from '../../broker-bridge/brokers/types.js';
import { SubscriptionManager } from '../../broker-bridge/delivery/manager.js';
import { DEFAULTS, type SubscriptionSpec } from '../../broker-bridge/delivery/spec.js';
import { brokerReachable } from './broker-env.js';
import { HttpSubscriber } from './http-subscriber.js';
import { scratchStream } from './nats-scratch.js';

const logger = pino({ level: 'silent' });
const natsUp = await brokerReachable('NATS JetStream', 4222);

interface BrokerCase {
  name: string;
  make(): Promise<BrokerAdapter>;
  cleanup?(): Promise<void>;
}
let embeddedDir = '';
function natsCase(): BrokerCase {
  const scratch = scratchStream(randomUUID().slice(0, 8));
  return {
    name: 'nats',
    make: async () =>
      new NatsAdapter({ servers: 'nats://127.0.0.1:4222', redeliveryDelayMs: 100, ...scratch.options }),
    cleanup: () => scratch.remove(),
  };
}
const cases: BrokerCase[] = [
  {
    name: 'embedded',
    make: async () =>
      new EmbeddedBroker((embeddedDir = await mkdtemp(join(tmpdir(), 'sidecast-delivery-'))), {
        sync: false,
        redeliveryDelayMs: 50,
      }),
    cleanup: () => rm(embeddedDir, { recursive: true, force: true }),
  },
  ...(natsUp ? [natsCase()] : []),
];

type TestEvent = Record<string, unknown> & {
  id: string;
  topic: string;
  partitionkey?: string;
  data: { i: number };
};

function cloudEvent(topic: string, i: number, extra: Record<string, unknown> = {}): TestEvent {
  return {
    specversion: '1.0',
    id: `${topic}#${i}`,
    source: '//test',
    type: 'test.event.v1',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    topic,
    data: { i },
    ...extra,
  };
}

function message(ev: TestEvent) {
  return {
    id: ev.id,
    topic: ev.topic,
    ...(typeof ev.partitionkey === 'string' ? { key: ev.partitionkey } : {}),
    body: Buffer.from(JSON.stringify(ev)),
  };
}

describe.each(cases)('delivery through the $name broker', (bc) => {
  let adapter: BrokerAdapter;
  let manager: SubscriptionManager;
  const subscribers: HttpSubscriber[] = [];
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    adapter = await bc.make();
    await adapter.connect();
  });
  afterEach(async () => {
    await manager?.close();
    await Promise.all(subscribers.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await adapter.close();
    await bc.cleanup?.();
  });

  async function subscribe(s: HttpSubscriber, name: string, over: Partial<SubscriptionSpec> = {}) {
    subscribers.push(s);
    const spec: SubscriptionSpec = {
      name: `test/${name}-${run}`,
      service: 'test',
      topics: [`t${run}/${name}/>`],
      url: s.url,
      timeoutMs: 2000,
      retry: { ...DEFAULTS.retry, attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
      orderedByKey: false,
      concurrency: 8,
      deadLetterTopic: `t${run}/dlq/${name}`,
      ...over,
    };
    manager = new SubscriptionManager({ adapter, logger, retryFailedMs: 100 });
    await manager.apply(new Map([[spec.name, spec]]));
    return spec;
  }

  test('events on matching topics reach the subscriber once each, in binary mode', async () => {
    const s = await new HttpSubscriber().start();
    await subscribe(s, 'basic');
    const evs = Array.from({ length: 20 }, (_, i) => cloudEvent(`t${run}/basic/${i % 2 ? 'a' : 'b/c'}`, i));
    await adapter.publish([
      ...evs.map(message),
      message(cloudEvent(`t${run}/other/x`, 99)),
      message(cloudEvent(`t${run}/basic`, 98)),
    ]);
    await s.waitFor(20);
    await new Promise((r) => setTimeout(r, 100)); // anything extra would show up now
    expect(s.received.map((r) => r.headers['ce-id']).sort()).toEqual(evs.map((e) => e.id).sort());
    expect(JSON.parse(s.received[0]!.body)).toHaveProperty('i');
    const delivered = await manager.metrics.registry.getSingleMetricAsString(
      'sidecast_delivery_delivered_total',
    );
    expect(delivered).toContain(`sidecast_delivery_delivered_total{subscription="test/basic-${run}"} 20`);
  });

  test('a poison event lands on the dead-letter topic with its reason; the rest are delivered', async () => {
    const s = await new HttpSubscriber((r) =>
      JSON.parse(r.body).i === 3 ? { status: 400, body: 'i=3 is not allowed' } : { status: 200 },
    );
    await s.start();
    const spec = await subscribe(s, 'poison');
    const dead: ReceivedMessage[] = [];
    const dlq = await adapter.subscribe(
      { name: `dlq-reader-${run}`, patterns: [spec.deadLetterTopic], maxInFlight: 4 },
      async (m) => {
        dead.push(m);
      },
    );
    try {
      await adapter.publish(Array.from({ length: 5 }, (_, i) => message(cloudEvent(`t${run}/poison/x`, i))));
      await s.waitFor(5);
      for (let i = 0; i < 100 && dead.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(dead).toHaveLength(1);
      const ev = JSON.parse(Buffer.from(dead[0]!.body).toString());
      expect(ev).toMatchObject({
        id: `t${run}/poison/x#3`,
        topic: spec.deadLetterTopic,
        data: { i: 3 },
        deadletterstatus: 400,
        deadletterattempts: 1,
        deadletterconsumer: spec.name,
        deadletterorigtopic: `t${run}/poison/x`,
      });
      expect(ev.deadletterreason).toContain('HTTP 400: i=3 is not allowed');
      const text = await manager.metrics.registry.getSingleMetricAsString(
        'sidecast_delivery_dead_lettered_total',
      );
      expect(text).toContain(`cause="rejected"} 1`);
    } finally {
      await dlq.close();
    }
  });

  test('a subscriber that is down when events are published receives them when it is back', async () => {
    const s = await new HttpSubscriber().start();
    const port = s.port;
    await subscribe(s, 'outage', {
      retry: { ...DEFAULTS.retry, attempts: 1, baseDelayMs: 20, maxDelayMs: 100 },
    });
    await s.stop();
    await adapter.publish(Array.from({ length: 10 }, (_, i) => message(cloudEvent(`t${run}/outage/x`, i))));
    await new Promise((r) => setTimeout(r, 400));
    expect(s.received).toHaveLength(0);
    await s.start(port);
    await s.waitFor(10);
    expect(new Set(s.received.map((r) => r.headers['ce-id'])).size).toBe(10);
    const dl = await manager.metrics.registry.getSingleMetricAsString(
      'sidecast_delivery_dead_lettered_total',
    );
    expect(dl).not.toContain(`outage-${run}`);
  });

  test('ordered by key: events of one partitionkey arrive in publish order despite slow answers', async () => {
    const s = await new HttpSubscriber((r) => ({ status: 200, delayMs: (JSON.parse(r.body).i * 7) % 13 }));
    await s.start();
    await subscribe(s, 'ordered', { orderedByKey: true, concurrency: 8 });
    const evs = Array.from({ length: 40 }, (_, i) =>
      cloudEvent(`t${run}/ordered/x`, i, { partitionkey: `k${i % 4}` }),
    );
    await adapter.publish(evs.map(message));
    await s.waitFor(40);
    for (let k = 0; k < 4; k++) {
      const seen = s.received
        .filter((r) => r.headers['ce-partitionkey'] === `k${k}`)
        .map((r) => JSON.parse(r.body).i as number);
      expect(seen).toEqual(evs.filter((e) => e.partitionkey === `k${k}`).map((e) => e.data.i));
    }
    expect(s.maxInFlight).toBeGreaterThan(1);
    expect(s.maxInFlight).toBeLessThanOrEqual(4);
  });

  test('removing a subscription stops delivery; adding one starts it', async () => {
    const s = await new HttpSubscriber().start();
    const spec = await subscribe(s, 'live');
    await adapter.publish([message(cloudEvent(`t${run}/live/x`, 1))]);
    await s.waitFor(1);
    await manager.apply(new Map());
    expect(manager.status()).toEqual([]);
    await adapter.publish([message(cloudEvent(`t${run}/live/x`, 2))]);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.received).toHaveLength(1);
    await manager.apply(new Map([[spec.name, spec]]));
    expect(manager.status()).toMatchObject([{ name: spec.name, state: 'running' }]);
    // The durable consumer kept its place: the event published while removed is delivered now
    // (at-least-once: a redelivery of #1 would be allowed, a loss of #2 is not).
    for (let i = 0; i < 100 && !s.received.some((r) => JSON.parse(r.body).i === 2); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(new Set(s.received.map((r) => JSON.parse(r.body).i))).toEqual(new Set([1, 2]));
  });
});
