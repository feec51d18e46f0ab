// Batched delivery (delivery.batch): per-event statuses honoured (retry / dead-letter per event),
// per-key ordering, dead letters — against a real HTTP subscriber, then through the embedded broker.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, test } from '@jest/globals';
import { EmbeddedBroker } from '../../broker-bridge/brokers/embedded/index.js';
import type { ReceivedMessage } from '../../broker-bridge/brokers/types.js';
import {
  Batcher,
  BATCH_CONTENT_TYPE,
  batchStatuses,
  type BatcherContext,
} from '../../broker-bridge/delivery/batch.js';
import { poolFor, type SubscriberPool } from '../../broker-bridge/delivery/http-post.js';
import { SubscriptionManager } from '../../broker-bridge/delivery/manager.js';
import type { Outcome } from '../../broker-bridge/delivery/retry-loop.js';
import { DEFAULTS, type SubscriptionSpec } from '../../broker-bridge/delivery/spec.js';
import { decodeSubscription, validateSubscription } from '../../broker-bridge/xds/subscription-resource.js';
import { SUBSCRIPTION_TYPE_URL } from '../../proto/sidecast.js';
import { parseMesh, translate } from '../../xds-server/mesh/index.js';
import { BRIDGE_GROUP } from '../../xds-server/mesh/model.js';
import { HttpSubscriber, type Received, type Responder } from './http-subscriber.js';

const subscribers: HttpSubscriber[] = [];
const pools: SubscriberPool[] = [];
const aborts: AbortController[] = [];
afterEach(async () => {
  for (const a of aborts.splice(0)) a.abort(new Error('test over'));
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
  await Promise.all(subscribers.splice(0).map((s) => s.stop()));
});

async function subscriber(responder: Responder): Promise<HttpSubscriber> {
  const s = await new HttpSubscriber(responder).start();
  subscribers.push(s);
  return s;
}

type Ev = Record<string, unknown> & { id: string; partitionkey?: string; data: { i: number } };
const event = (i: number, key?: string): Ev => ({
  specversion: '1.0',
  id: `e${i}`,
  source: '//test',
  type: 'test.v1',
  ...(key ? { partitionkey: key } : {}),
  data: { i },
});
const eventsOf = (r: Received): Ev[] => JSON.parse(r.body) as Ev[];
const answer = (statuses: Array<[string, string]>) => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ statuses: statuses.map(([id, status]) => ({ id, status })) }),
});

function batcher(s: HttpSubscriber, over: Partial<BatcherContext> = {}): Batcher {
  const abort = new AbortController();
  aborts.push(abort);
  const pool = poolFor(new URL(s.url), 8);
  pools.push(pool);
  return new Batcher({
    url: new URL(s.url),
    timeoutMs: 2000,
    retry: { attempts: 3, backoff: 'exponential', baseDelayMs: 5, maxDelayMs: 20, retryAfterCapMs: 50 },
    batch: { maxEvents: 10, maxWaitMs: 20 },
    concurrency: 4,
    orderedByKey: false,
    pool,
    signal: abort.signal,
    onRetry: () => undefined,
    ...over,
  });
}

const add = (b: Batcher, e: Ev): Promise<Outcome> =>
  b.add({ id: e.id, key: e.partitionkey, body: Buffer.from(JSON.stringify(e)) });

describe('batched delivery against a real subscriber', () => {
  test('up to maxEvents per POST as a cloudevents-batch+json array; a partial batch leaves after maxWait', async () => {
    const s = await subscriber(() => ({ status: 204 }));
    // All 25 are added in one tick; a long maxWait keeps a stalled test process from flushing early.
    const b = batcher(s, { batch: { maxEvents: 10, maxWaitMs: 500 } });
    const outcomes = await Promise.all(Array.from({ length: 25 }, (_, i) => add(b, event(i))));
    expect(outcomes.every((o) => o.kind === 'delivered' && o.attempts === 1)).toBe(true);
    expect(s.received.map((r) => r.headers['content-type'])).toEqual(Array(3).fill(BATCH_CONTENT_TYPE));
    expect(s.received.map((r) => eventsOf(r).length)).toEqual([10, 10, 5]);
    expect(s.received.flatMap(eventsOf).map((e) => e.data.i)).toEqual([...Array(25).keys()]);
  });

  test('per event: SUCCESS delivered, DROP dead-lettered at once, RETRY and left-out events retried alone', async () => {
    const seen = new Map<string, number>();
    const s = await subscriber((r) => {
      const st: Array<[string, string]> = [];
      for (const { id } of eventsOf(r)) {
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        if (id === 'e0') st.push([id, 'SUCCESS']);
        else if (id === 'e1') st.push([id, 'DROP']);
        else if (id === 'e2')
          st.push([id, 'RETRY']); // never succeeds
        else if (id === 'e3') st.push([id, n === 1 ? 'RETRY' : 'SUCCESS']);
        else if (id === 'e4' && n > 1) st.push([id, 'SUCCESS']); // left out the first time
      }
      return answer(st);
    });
    const b = batcher(s);
    const [e0, e1, e2, e3, e4] = await Promise.all([0, 1, 2, 3, 4].map((i) => add(b, event(i))));
    expect(e0).toEqual({ kind: 'delivered', attempts: 1, status: 200 });
    expect(e1).toMatchObject({ kind: 'dead-letter', cause: 'rejected', attempts: 1, status: 200 });
    expect((e1 as { reason: string }).reason).toContain('DROP');
    expect(e2).toMatchObject({ kind: 'dead-letter', cause: 'exhausted', attempts: 3 });
    expect((e2 as { reason: string }).reason).toContain('RETRY in a batch answer');
    expect(e3).toEqual({ kind: 'delivered', attempts: 2, status: 200 });
    expect(e4).toEqual({ kind: 'delivered', attempts: 2, status: 200 });
    // Settled events are never sent again; only the retried ones are.
    expect(seen.get('e0')).toBe(1);
    expect(seen.get('e1')).toBe(1);
    expect(seen.get('e2')).toBe(3);
    for (const r of s.received.slice(1))
      for (const e of eventsOf(r)) expect(['e2', 'e3', 'e4']).toContain(e.id);
  });

  test('whole-batch answers: 503 retries every event, 400 dead-letters every event, a garbled answer is retried', async () => {
    let calls = 0;
    const s = await subscriber(() => {
      calls++;
      if (calls === 1) return { status: 503, headers: { 'retry-after': '0' } };
      if (calls === 2) return { status: 200, body: '{"statuses":"yes"}' };
      return { status: 204 };
    });
    const b = batcher(s);
    const outcomes = await Promise.all([0, 1, 2].map((i) => add(b, event(i))));
    expect(outcomes).toEqual(Array(3).fill({ kind: 'delivered', attempts: 3, status: 204 }));

    const bad = await subscriber(() => ({ status: 400, body: 'batch not welcome' }));
    const once = batcher(bad);
    const rejected = await Promise.all([0, 1].map((i) => add(once, event(i))));
    for (const o of rejected) {
      expect(o).toMatchObject({ kind: 'dead-letter', cause: 'rejected', status: 400 });
      expect((o as { reason: string }).reason).toContain('batch not welcome');
    }
    expect(bad.received).toHaveLength(1);
  });

  test('a subscriber that is down uses up no attempts; events arrive when it is back', async () => {
    const s = await subscriber(() => ({ status: 204 }));
    const port = s.port;
    await s.stop();
    const b = batcher(s, { retry: { ...DEFAULTS.retry, attempts: 1, baseDelayMs: 10, maxDelayMs: 30 } });
    const pending = Promise.all([0, 1, 2].map((i) => add(b, event(i))));
    await new Promise((r) => setTimeout(r, 150));
    await s.start(port);
    expect(await pending).toEqual(Array(3).fill({ kind: 'delivered', attempts: 1, status: 204 }));
  });

  test('ordered by key: a key is in one batch at a time, and after a RETRY its later events go again behind it', async () => {
    const inFlightKeys = new Set<string>();
    const processed = new Map<string, number[]>(); // what the subscriber accepted, per key, in order
    let overlap = false;
    let failedOnce = false;
    const s = await subscriber((r) => {
      const evs = eventsOf(r);
      const keys = new Set(evs.map((e) => e.partitionkey!));
      for (const k of keys) if (inFlightKeys.has(k)) overlap = true;
      for (const k of keys) inFlightKeys.add(k);
      setTimeout(() => keys.forEach((k) => inFlightKeys.delete(k)), 5);
      const st: Array<[string, string]> = [];
      const stopped = new Set<string>();
      for (const e of evs) {
        const k = e.partitionkey!;
        // e5 (key k1) fails once; this subscriber keeps processing the key anyway (the bridge must not care).
        if (e.id === 'e5' && !failedOnce) {
          failedOnce = true;
          stopped.add(k);
          st.push([e.id, 'RETRY']);
          continue;
        }
        if (!stopped.has(k)) (processed.get(k) ?? processed.set(k, []).get(k)!).push(e.data.i);
        st.push([e.id, 'SUCCESS']);
      }
      return { ...answer(st), delayMs: 5 };
    });
    const b = batcher(s, { orderedByKey: true, batch: { maxEvents: 4, maxWaitMs: 5 } });
    const evs = Array.from({ length: 24 }, (_, i) => event(i, `k${i % 4}`));
    const outcomes = await Promise.all(evs.map((e) => add(b, e)));
    expect(outcomes.every((o) => o.kind === 'delivered')).toBe(true);
    expect(overlap).toBe(false);
    for (const [k, seq] of processed) {
      const expected = evs.filter((e) => e.partitionkey === k).map((e) => e.data.i);
      // Each key seen in publish order, every event once (e5's redelivery included, after e1).
      expect(seq).toEqual(expected);
    }
    // e9 (k1, after e5) was redelivered behind e5 even if the first answer said SUCCESS for it.
    const k1Batches = s.received.map(eventsOf).filter((evs2) => evs2.some((e) => e.partitionkey === 'k1'));
    const firstK1WithE5 = k1Batches.findIndex((bb) => bb.some((e) => e.id === 'e5'));
    const after = k1Batches.slice(firstK1WithE5 + 1).flat();
    expect(after.filter((e) => e.partitionkey === 'k1')[0]!.id).toBe('e5');
  });

  test('stopping hands every unsettled event back', async () => {
    const s = await subscriber(() => ({ status: 204, delayMs: 200 }));
    const abort = new AbortController();
    const b = batcher(s, { signal: abort.signal });
    const pending = [0, 1, 2].map((i) => add(b, event(i)));
    await new Promise((r) => setTimeout(r, 50));
    abort.abort(new Error('subscription removed'));
    for (const p of pending) await expect(p).rejects.toThrow('subscription removed');
  });

  test('statuses: a 2xx without them delivers all; malformed ones are an error', () => {
    expect(batchStatuses('')).toBeUndefined();
    expect(batchStatuses('ok')).toBeUndefined();
    expect(batchStatuses('{"accepted":3}')).toBeUndefined();
    expect(batchStatuses('{"statuses":[{"id":"a","status":"DROP"}]}')).toEqual(new Map([['a', 'DROP']]));
    expect(() => batchStatuses('{"statuses":[{"id":"a","status":"MAYBE"}]}')).toThrow('statuses[0]');
  });
});

describe('batched delivery through the embedded broker', () => {
  test('a DROPped event lands on the dead-letter topic with its reason; the others are delivered once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sidecast-batch-'));
    const adapter = new EmbeddedBroker(dir, { sync: false, redeliveryDelayMs: 50 });
    await adapter.connect();
    const manager = new SubscriptionManager({
      adapter,
      logger: pino({ level: 'silent' }),
      retryFailedMs: 100,
    });
    try {
      const s = await subscriber((r) =>
        answer(eventsOf(r).map((e) => [e.id, e.data.i === 3 ? 'DROP' : 'SUCCESS'])),
      );
      const spec: SubscriptionSpec = {
        name: 'test/batched',
        service: 'test',
        topics: ['b/in/>'],
        url: s.url,
        timeoutMs: 2000,
        retry: { ...DEFAULTS.retry, attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
        orderedByKey: false,
        concurrency: 2,
        deadLetterTopic: 'b/dlq',
        batch: { maxEvents: 8, maxWaitMs: 10 },
      };
      const dead: ReceivedMessage[] = [];
      const dlq = await adapter.subscribe(
        { name: 'dlq-reader', patterns: ['b/dlq'], maxInFlight: 4 },
        async (m) => {
          dead.push(m);
        },
      );
      await manager.apply(new Map([[spec.name, spec]]));
      const evs = Array.from({ length: 12 }, (_, i) => ({ ...event(i), topic: 'b/in/x' }));
      await adapter.publish(
        evs.map((e) => ({ id: e.id, topic: 'b/in/x', body: Buffer.from(JSON.stringify(e)) })),
      );
      for (let i = 0; i < 200 && dead.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      await s.waitFor(1);
      await new Promise((r) => setTimeout(r, 200)); // a redelivery would show up now
      const ids = s.received.flatMap(eventsOf).map((e) => e.id);
      expect(ids.sort()).toEqual(evs.map((e) => e.id).sort());
      expect(dead).toHaveLength(1);
      const dl = JSON.parse(Buffer.from(dead[0]!.body).toString()) as Record<string, unknown>;
      expect(dl).toMatchObject({ id: 'e3', deadletterconsumer: 'test/batched', deadletterstatus: 200 });
      expect(String(dl.deadletterreason)).toContain('DROP');
      await dlq.close();
    } finally {
      await manager.close();
      await adapter.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('delivery.batch from mesh config to the bridge', () => {
  const mesh = (batch: string) =>
    parseMesh([
      {
        file: 'batch.yaml',
        text: [
          'apiVersion: sidecast.io/v1\nkind: Mesh\nmetadata: { name: m }\nspec: { bridge: { address: 10.0.0.1, port: 8090 } }',
          'apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: ledger }\nspec: { endpoints: ["10.0.0.2:8080"] }',
          `apiVersion: sidecast.io/v1\nkind: Subscription\nmetadata: { name: bulk }\nspec:\n  service: ledger\n  topics: ["acme/>"]\n  delivery: { path: /bulk, ${batch} }`,
        ].join('\n---\n'),
      },
    ]);

  test('maxEvents and maxWait reach the bridge as a batch spec', () => {
    const bytes = translate(mesh('batch: { maxEvents: 50, maxWait: 25ms }'))
      .get(BRIDGE_GROUP)!
      .get(SUBSCRIPTION_TYPE_URL)!
      .get('ledger/bulk')!;
    expect(decodeSubscription('ledger/bulk', bytes).batch).toEqual({ maxEvents: 50, maxWaitMs: 25 });
  });

  test('an out-of-range batch is refused with its field, in the mesh file and on the bridge', () => {
    expect(() => mesh('batch: { maxEvents: 5000 }')).toThrow(/maxEvents/);
    expect(() =>
      validateSubscription('ledger/bulk', {
        name: 'ledger/bulk',
        service: 'ledger',
        topics: ['acme/>'],
        delivery: { url: 'http://10.0.0.2:8080/bulk', batch: { max_events: 0 } },
      }),
    ).toThrow('delivery.batch.max_events');
  });
});
