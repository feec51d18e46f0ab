// End to end: HTTP ingest → broker → delivery to HTTP subscribers, with subscriptions coming from
// the xds-server watching a mesh file. Runs on the embedded broker and, when they answer on
// 127.0.0.1, NATS JetStream, RabbitMQ and Mosquitto (under CI they must answer).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { brokerReachable } from '../broker-bridge/broker-env.js';
import { HttpSubscriber } from '../broker-bridge/http-subscriber.js';
import { scratchStream } from '../broker-bridge/nats-scratch.js';
import { eventually, ingest, running, Stack, type MeshSubscription, type RunningBridge } from './stack.js';

interface BrokerCase {
  name: string;
  url: (dir: string) => string;
}
const brokers: BrokerCase[] = [{ name: 'embedded', url: (dir) => `embedded://${dir}/broker` }];
if (await brokerReachable('NATS JetStream', 4222))
  brokers.push({ name: 'nats', url: () => 'nats://127.0.0.1:4222' });
if (await brokerReachable('RabbitMQ', 5672))
  brokers.push({ name: 'rabbitmq', url: () => 'amqp://guest:guest@127.0.0.1:5672' });
if (await brokerReachable('Mosquitto', 1883))
  brokers.push({ name: 'mqtt', url: () => 'mqtt://127.0.0.1:1883' });

/** A Stack on the case's broker; NATS runs get a stream of their own, deleted afterwards. */
function stackOn(bc: BrokerCase): Stack {
  if (bc.name !== 'nats') return new Stack(bc.url);
  const scratch = scratchStream(randomUUID().slice(0, 8));
  return new Stack(bc.url, { nats: scratch.options }, () => scratch.remove());
}

const ids = (s: HttpSubscriber) => s.received.map((r) => String(r.headers['ce-id']));
const settle = () => new Promise((r) => setTimeout(r, 400));

describe.each(brokers)('delivery end to end on $name', (bc) => {
  const run = randomUUID().slice(0, 8);
  const t = `t${run}/bank`;
  const stack = stackOn(bc);
  const notifications = new HttpSubscriber((r) =>
    JSON.parse(r.body).poison ? { status: 400, body: 'poison: owner missing' } : { status: 204 },
  );
  const audit = new HttpSubscriber();
  const dlqwatch = new HttpSubscriber();
  const analytics = new HttpSubscriber();
  let bridge: RunningBridge;
  let subs: MeshSubscription[];

  beforeAll(async () => {
    await Promise.all([notifications.start(), audit.start(), dlqwatch.start(), analytics.start()]);
    subs = [
      {
        name: `welcome-${run}`,
        service: 'notifications',
        port: notifications.port,
        topics: [`${t}/account/opened/v1`],
        deadLetterTopic: `${t}/dlq/notifications`,
        attempts: 2,
      },
      {
        name: `trail-${run}`,
        service: 'audit',
        port: audit.port,
        topics: [`${t}/account/>`],
        orderByKey: true,
      },
      { name: `dead-${run}`, service: 'dlqwatch', port: dlqwatch.port, topics: [`${t}/dlq/>`] },
    ];
    await stack.start(subs);
    bridge = await stack.addBridge(`sidecast-bridge-${bc.name}-${run}`);
    await eventually('three subscriptions consuming', () => running(bridge).length === 3);
  });
  afterAll(async () => {
    await stack.stop();
    await Promise.all([notifications, audit, dlqwatch, analytics].map((s) => s.stop()));
  });

  test('ingested events reach every matching subscriber, in CloudEvents binary mode', async () => {
    await ingest(bridge.ingestUrl, [
      {
        id: `o1-${run}`,
        topic: `${t}/account/opened/v1`,
        partitionkey: 'acc-1',
        data: { id: 'acc-1', owner: 'Ada' },
      },
      {
        id: `o2-${run}`,
        topic: `${t}/account/opened/v1`,
        partitionkey: 'acc-2',
        data: { id: 'acc-2', owner: 'Alan' },
      },
      { id: `c1-${run}`, topic: `${t}/account/closed/v1`, partitionkey: 'acc-1', data: { id: 'acc-1' } },
    ]);
    await notifications.waitFor(2);
    await audit.waitFor(3);
    await settle();
    expect(ids(notifications).sort()).toEqual([`o1-${run}`, `o2-${run}`]);
    expect(ids(audit).sort()).toEqual([`c1-${run}`, `o1-${run}`, `o2-${run}`]);
    const first = notifications.received.find((r) => r.headers['ce-id'] === `o1-${run}`)!;
    expect(JSON.parse(first.body)).toEqual({ id: 'acc-1', owner: 'Ada' });
    expect(first.headers).toMatchObject({
      'content-type': 'application/json',
      'ce-type': 'acme.bank.account.opened.v1',
      'ce-topic': `${t}/account/opened/v1`,
      'ce-partitionkey': 'acc-1',
    });
    // Per-key order at audit: acc-1 opened before acc-1 closed.
    const acc1 = audit.received
      .filter((r) => r.headers['ce-partitionkey'] === 'acc-1')
      .map((r) => r.headers['ce-id']);
    expect(acc1).toEqual([`o1-${run}`, `c1-${run}`]);
  });

  test('a poison event lands on the dead-letter topic with its reason (and reaches whoever subscribes to it)', async () => {
    await ingest(bridge.ingestUrl, [
      { id: `p1-${run}`, topic: `${t}/account/opened/v1`, data: { poison: true } },
    ]);
    await eventually('the dead letter at dlqwatch', () => dlqwatch.received.length > 0);
    const dead = dlqwatch.received[0]!;
    expect(dead.headers).toMatchObject({
      'ce-id': `p1-${run}`,
      'ce-topic': `${t}/dlq/notifications`,
      'ce-deadletterstatus': '400',
      'ce-deadletterattempts': '1',
      'ce-deadletterconsumer': `notifications/welcome-${run}`,
      'ce-deadletterorigtopic': `${t}/account/opened/v1`,
    });
    expect(decodeURIComponent(String(dead.headers['ce-deadletterreason']))).toContain(
      'HTTP 400: poison: owner missing',
    );
    expect(JSON.parse(dead.body)).toEqual({ poison: true });
  });

  test('a subscriber that is down when events are published receives them once it is back', async () => {
    const port = audit.port;
    await audit.stop();
    const before = audit.received.length;
    const evs = Array.from({ length: 5 }, (_, i) => ({
      id: `d${i}-${run}`,
      topic: `${t}/account/closed/v1`,
      data: { i },
    }));
    await ingest(bridge.ingestUrl, evs);
    await settle();
    expect(audit.received.length).toBe(before);
    await audit.start(port);
    await eventually('all five at audit after its outage', () => evs.every((e) => ids(audit).includes(e.id)));
  });

  test('removing a subscription from the mesh file stops delivery and adding one starts it, without restarts', async () => {
    const analyticsSub: MeshSubscription = {
      name: `metrics-${run}`,
      service: 'analytics',
      port: analytics.port,
      topics: [`${t}/*/opened/v1`],
      path: '/ingest',
    };
    subs = [...subs.filter((s) => s.service !== 'audit'), analyticsSub];
    await stack.setSubscriptions(subs);
    await eventually('audit removed and analytics added', () => {
      const names = running(bridge);
      return names.includes(`analytics/metrics-${run}`) && !names.includes(`audit/trail-${run}`);
    });
    const auditBefore = audit.received.length;
    await ingest(bridge.ingestUrl, [
      { id: `n1-${run}`, topic: `${t}/account/opened/v1`, data: { id: 'acc-9' } },
    ]);
    await eventually('analytics got the new event', () => ids(analytics).includes(`n1-${run}`));
    await eventually('notifications still served', () => ids(notifications).includes(`n1-${run}`));
    await settle();
    expect(audit.received.length).toBe(auditBefore);
    expect(bridge.delivery.status().xds).toMatchObject({ connected: true, nacks: 0 });
  });

  test('a bridge restart while the subscriber is down loses nothing', async () => {
    const port = notifications.port;
    await notifications.stop();
    const evs = Array.from({ length: 5 }, (_, i) => ({
      id: `b${i}-${run}`,
      topic: `${t}/account/opened/v1`,
      data: { i },
    }));
    await ingest(bridge.ingestUrl, evs);
    await settle(); // the events are now held in flight, waiting for the subscriber
    await bridge.stop();
    await notifications.start(port);
    bridge = await stack.addBridge(`sidecast-bridge-${bc.name}-${run}`);
    await eventually('all five delivered by the restarted bridge', () =>
      evs.every((e) => ids(notifications).includes(e.id)),
    );
  });
});

describe.each(brokers)('two bridge replicas on $name', (bc) => {
  const run = randomUUID().slice(0, 8);
  const topic = `t${run}/bank/account/opened/v1`;
  const stack = stackOn(bc);
  const sub = new HttpSubscriber();

  beforeAll(async () => {
    await sub.start();
    await stack.start([{ name: `shared-${run}`, service: 'notifications', port: sub.port, topics: [topic] }]);
  });
  afterAll(async () => {
    await stack.stop();
    await sub.stop();
  });

  const delivered = async (b: RunningBridge) => {
    const m = await b.bridge.metrics.registry.getSingleMetric('sidecast_delivery_delivered_total')?.get();
    return m?.values.reduce((n, v) => n + v.value, 0) ?? 0;
  };

  test('share the work without duplicates, and lose nothing when one stops', async () => {
    const a = await stack.addBridge(`sidecast-bridge-a-${run}`);
    const b = await stack.addBridge(`sidecast-bridge-b-${run}`);
    await eventually('both replicas consuming', () => running(a).length === 1 && running(b).length === 1);
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `r${from + i}-${run}`, topic, data: { i: from + i } }));
    for (let i = 0; i < 200; i += 20) await ingest((i / 20) % 2 ? a.ingestUrl : b.ingestUrl, batch(i, 20));
    await eventually('200 events delivered', () => new Set(ids(sub)).size === 200);
    await settle();
    expect(ids(sub)).toHaveLength(200); // no duplicates when nothing fails
    expect(await delivered(a)).toBeGreaterThan(0);
    expect(await delivered(b)).toBeGreaterThan(0);

    await b.stop();
    await ingest(a.ingestUrl, batch(200, 50));
    // MQTT shared subscriptions keep the stopped replica's share in its persistent session until it
    // returns (Mosquitto queues for offline group members); the other brokers hand it all to `a`.
    if (bc.name !== 'mqtt')
      await eventually('the 50 published after one replica stopped', () => new Set(ids(sub)).size === 250);
    const c = await stack.addBridge(`sidecast-bridge-b-${run}`);
    await eventually('restarted replica consuming', () => running(c).length === 1);
    await ingest(c.ingestUrl, batch(250, 50));
    await eventually('all 300 delivered', () => new Set(ids(sub)).size === 300);
  });
});

describe('a subscription the bridge rejects', () => {
  const run = randomUUID().slice(0, 8);
  const stack = new Stack((dir) => `embedded://${dir}/broker`);
  const sub = new HttpSubscriber();
  afterAll(async () => {
    await stack.stop();
    await sub.stop();
  });

  test('is NACKed with the resource and field, seen by the xds-server; the others keep running', async () => {
    await sub.start();
    const good: MeshSubscription = {
      name: `good-${run}`,
      service: 'audit',
      port: sub.port,
      topics: [`t${run}/a/>`],
    };
    await stack.start([good]);
    const b = await stack.addBridge(`sidecast-bridge-nack-${run}`);
    await eventually('the good subscription consuming', () => running(b).length === 1);
    // Valid mesh config, but its dead letters would be delivered back to itself: the bridge refuses it.
    const loop: MeshSubscription = {
      name: `loop-${run}`,
      service: 'audit',
      port: sub.port,
      topics: [`t${run}/b/>`],
      deadLetterTopic: `t${run}/b/dead`,
    };
    await stack.setSubscriptions([good, loop]);
    await eventually('the NACK at the xds-server', () =>
      stack.xds.server.nackLog().some((n) => n.nodeId === `sidecast-bridge-nack-${run}`),
    );
    const nack = stack.xds.server.nackLog().find((n) => n.nodeId === `sidecast-bridge-nack-${run}`)!;
    expect(nack.message).toBe(
      `Subscription "audit/loop-${run}": dead_letter_topic: "t${run}/b/dead" matches the subscription's own pattern "t${run}/b/>"`,
    );
    expect(b.delivery.status().xds?.lastNack?.detail).toBe(nack.message);
    expect(running(b)).toEqual([`audit/good-${run}`]);
  });
});

describe('control plane outage', () => {
  const run = randomUUID().slice(0, 8);
  const stack = new Stack((dir) => `embedded://${dir}/broker`);
  const audit = new HttpSubscriber();
  const analytics = new HttpSubscriber();
  afterAll(async () => {
    await stack.stop();
    await Promise.all([audit.stop(), analytics.stop()]);
  });

  test('the bridge keeps delivering with its last good set, then picks up what changed meanwhile', async () => {
    await Promise.all([audit.start(), analytics.start()]);
    const trail: MeshSubscription = {
      name: `trail-${run}`,
      service: 'audit',
      port: audit.port,
      topics: [`t${run}/>`],
    };
    await stack.start([trail]);
    const b = await stack.addBridge(`sidecast-bridge-cp-${run}`);
    await eventually('audit consuming', () => running(b).length === 1);
    const metrics: MeshSubscription = {
      name: `m-${run}`,
      service: 'analytics',
      port: analytics.port,
      topics: [`t${run}/>`],
    };
    await stack.restartXds(async () => {
      await eventually('the bridge to notice', () => b.delivery.status().xds?.connected === false);
      await ingest(b.ingestUrl, [{ id: `x1-${run}`, topic: `t${run}/a`, data: {} }]);
      await eventually('delivery without a control plane', () => ids(audit).includes(`x1-${run}`));
      await stack.setSubscriptions([trail, metrics]);
    });
    await eventually('the subscription added during the outage', () =>
      running(b).includes(`analytics/m-${run}`),
    );
    await ingest(b.ingestUrl, [{ id: `x2-${run}`, topic: `t${run}/a`, data: {} }]);
    await eventually(
      'both subscribers get the next event',
      () => ids(audit).includes(`x2-${run}`) && ids(analytics).includes(`x2-${run}`),
    );
    expect(b.delivery.status().xds).toMatchObject({ connected: true, nacks: 0 });
  });
});
