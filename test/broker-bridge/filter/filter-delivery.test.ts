// Filters and routes end to end on the embedded broker: the mesh file's Subscription.filter/routes
// → xds-server translation → sidecast.v1.Subscription over delta ADS → the bridge compiles and
// applies them. A filter that does not compile is NACKed with CEL's message while the other
// subscriptions keep delivering; fixing it in the mesh file applies the new filter live.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { HttpSubscriber } from '../http-subscriber.js';
import {
  eventually,
  ingest,
  running,
  Stack,
  type MeshSubscription,
  type RunningBridge,
} from '../../e2e/stack.js';

const run = randomUUID().slice(0, 8);
const t = `t${run}/bank`;
const ids = (s: HttpSubscriber) => s.received.map((r) => String(r.headers['ce-id'])).sort();
const OPENED = `${t}/account/opened/v1`;
const CLOSED = `${t}/account/closed/v1`;

async function ingestClosed(url: string, id: string, data: unknown): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({
      specversion: '1.0',
      id,
      source: '//e2e',
      type: 'acme.bank.account.closed.v1',
      topic: CLOSED,
      data,
    }),
  });
  expect(res.status).toBe(200);
}

describe('subscription filters and routes, applied from the mesh file', () => {
  const stack = new Stack((dir) => `embedded://${dir}/broker`);
  const eu = new HttpSubscriber(() => ({ status: 204 }));
  const closed = new HttpSubscriber(() => ({ status: 204 }));
  const routed = new HttpSubscriber(() => ({ status: 204 }));
  let bridge: RunningBridge;
  let subs: MeshSubscription[];
  const filtered = async (sub: string, result: string) =>
    (
      await bridge.bridge.metrics.registry.getSingleMetric('sidecast_delivery_filtered_total')!.get()
    ).values.find((v) => v.labels.subscription === sub && v.labels.result === result)?.value ?? 0;

  beforeAll(async () => {
    await Promise.all([eu.start(), closed.start(), routed.start()]);
    subs = [
      {
        name: `eu-${run}`,
        service: 'notifications',
        port: eu.port,
        topics: [`${t}/account/>`],
        filter: 'data.region == "eu"',
      },
      {
        name: `closed-${run}`,
        service: 'audit',
        port: closed.port,
        topics: [`${t}/account/>`],
        filter: 'type == "acme.bank.account.closed.v1"',
      },
      {
        name: `routed-${run}`,
        service: 'analytics',
        port: routed.port,
        topics: [`${t}/account/>`],
        routes: [
          { filter: 'data.amount >= 1000', path: '/large' },
          { filter: 'type.endsWith(".closed.v1")', path: '/closed' },
        ],
      },
    ];
    await stack.start(subs);
    bridge = await stack.addBridge(`sidecast-bridge-filter-${run}`);
    await eventually('three subscriptions consuming', () => running(bridge).length === 3);
  }, 30_000);
  afterAll(async () => {
    await stack.stop();
    await Promise.all([eu, closed, routed].map((s) => s.stop()));
  });

  test('attribute and data filters deliver only what they select; the rest is acknowledged and counted', async () => {
    await ingest(bridge.ingestUrl, [
      { id: `a-${run}`, topic: OPENED, data: { region: 'eu', amount: 5 } },
      { id: `b-${run}`, topic: OPENED, data: { region: 'us', amount: 5000 } },
      { id: `c-${run}`, topic: OPENED, data: { amount: 1 } }, // no region: false, not an error
    ]);
    await ingestClosed(bridge.ingestUrl, `d-${run}`, { region: 'eu' });
    await eventually('routed got all four', () => routed.received.length === 4);
    await eventually('closed got d', () => closed.received.length === 1);
    await eventually('eu got a and d', () => eu.received.length === 2);
    await eventually(
      'eu counted b and c',
      async () => (await filtered(`notifications/eu-${run}`, 'no_match')) === 2,
    );
    expect(ids(eu)).toEqual([`a-${run}`, `d-${run}`]);
    expect(ids(closed)).toEqual([`d-${run}`]);
    expect(await filtered(`audit/closed-${run}`, 'no_match')).toBe(3);
    expect(await filtered(`notifications/eu-${run}`, 'error')).toBe(0);
    // Routes: first match wins, no match → delivery.path.
    const path = (id: string) => routed.received.find((r) => r.headers['ce-id'] === id)!.url;
    expect([path(`a-${run}`), path(`b-${run}`), path(`c-${run}`), path(`d-${run}`)]).toEqual([
      '/events',
      '/large',
      '/events',
      '/closed',
    ]);
  });

  test('a filter that does not compile is NACKed with its message; the others keep working; the fix applies live', async () => {
    const nacksBefore = bridge.delivery.status().xds!.nacks;
    await stack.setSubscriptions(
      subs.map((s) => (s.name === `eu-${run}` ? { ...s, filter: 'data.region ==' } : s)),
    );
    await eventually('the NACK', () => bridge.delivery.status().xds!.nacks > nacksBefore);
    expect(bridge.delivery.status().xds!.lastNack!.detail).toMatch(
      new RegExp(
        `Subscription "notifications/eu-${run}": filter: CEL expression "data\\.region ==" does not compile: .+`,
      ),
    );
    // The NACKed resource keeps its last good version; the others were never touched.
    expect(running(bridge)).toHaveLength(3);
    await ingestClosed(bridge.ingestUrl, `e-${run}`, { region: 'eu' });
    await eventually('closed got e', () => closed.received.length === 2);
    await eventually('eu (last good filter) got e', () => eu.received.length === 3);

    await stack.setSubscriptions(
      subs.map((s) => (s.name === `eu-${run}` ? { ...s, filter: 'data.region == "us"' } : s)),
    );
    // Applied once the worker for the new version runs: a "us" event gets through, an "eu" one does not.
    await eventually(
      'a us event reaches eu-subscriber under the new filter',
      async () => {
        await ingestClosed(bridge.ingestUrl, `us-${randomUUID().slice(0, 6)}`, { region: 'us' });
        return eu.received.some((r) => String(r.headers['ce-id']).startsWith('us-'));
      },
      15_000,
    );
    // The old version's worker is stopped before the new one starts, so only f can count now.
    const noMatch = await filtered(`notifications/eu-${run}`, 'no_match');
    await ingestClosed(bridge.ingestUrl, `f-${run}`, { region: 'eu' });
    await eventually(
      'eu left f out',
      async () => (await filtered(`notifications/eu-${run}`, 'no_match')) === noMatch + 1,
    );
    expect(eu.received.map((r) => r.headers['ce-id'])).not.toContain(`f-${run}`);
  });
});
