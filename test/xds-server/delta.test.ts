// Incremental (delta) ADS rules (reference/xds.md §1.7, §1.13 items 3, 4, 6) and the custom
// sidecast.v1.Subscription type, against a raw client.
import { afterEach, describe, expect, it } from '@jest/globals';
import { decodeSubscription, encodeSubscription, SUBSCRIPTION_TYPE_URL } from '../../proto/sidecast.js';
import { deltaStream, sotwAck, sotwStream, type DeltaResponseMsg, type DeltaStream } from './ads-client.js';
import {
  cluster,
  endpoints,
  ENVOY_NODE,
  fleet,
  route,
  startServer,
  stopServers,
  TYPE,
  type GroupResources,
  type Running,
} from './fixtures.js';

let running: Running | undefined;
afterEach(stopServers);

const sent = (r: DeltaResponseMsg): string[] => r.resources.map((x) => x.name);
const ack = (r: DeltaResponseMsg) => ({ type_url: r.type_url, response_nonce: r.nonce });

/** A round trip on another type: any response to the type under test would have come first. */
async function barrier(s: DeltaStream): Promise<void> {
  s.send({ type_url: TYPE.route, resource_names_subscribe: ['barrier'] });
  const r = await s.next();
  expect(r.type_url).toBe(TYPE.route);
  s.send({ ...ack(r), resource_names_unsubscribe: ['barrier'] });
}

const base = (): { g: GroupResources } => ({
  g: {
    [TYPE.cluster]: { a: cluster('a'), b: cluster('b') },
    [TYPE.endpoint]: { a: endpoints('a', [1001]), b: endpoints('b', [1002]) },
    [TYPE.route]: { barrier: route('barrier', '*', 'a') },
  },
});

describe('delta ADS', () => {
  it('sends per-resource versions, ACKs by nonce, and only changed resources afterwards', async () => {
    running = await startServer(base());
    const s = deltaStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.cluster, resource_names_subscribe: ['*'] });
    const r1 = await s.next();
    expect(sent(r1)).toEqual(['a', 'b']);
    expect(r1.resources[0]!.version).toBe(running.cache.get('g', TYPE.cluster).resources.get('a')!.version);
    expect(r1.resources[0]!.resource.type_url).toBe(TYPE.cluster);
    expect(r1.control_plane?.identifier).toBe(running.server.controlPlaneId);
    s.send(ack(r1));
    const next = base();
    next.g[TYPE.cluster]!.b = cluster('b', '2s');
    running.cache.setFleet(fleet(next));
    const r2 = await s.next();
    expect(sent(r2)).toEqual(['b']);
    s.send(ack(r2));
    await barrier(s);
    expect(running.server.syncz()[0]!.types.find((t) => t.typeUrl === TYPE.cluster)!.state).toBe('SYNCED');
    s.close();
  });

  it('a NACKed resource is not re-sent until it changes; the error is recorded', async () => {
    running = await startServer(base());
    const s = deltaStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.endpoint, resource_names_subscribe: ['a'] });
    const r1 = await s.next();
    s.send({ ...ack(r1), error_detail: { code: 3, message: 'endpoint a: bad address' } });
    await barrier(s);
    expect(running.server.nackLog()[0]).toMatchObject({
      nodeId: 'n1',
      typeUrl: TYPE.endpoint,
      message: 'endpoint a: bad address',
    });
    const next = base();
    next.g[TYPE.endpoint]!.b = endpoints('b', [4242]); // another resource changes: a stays held
    running.cache.setFleet(fleet(next));
    await barrier(s);
    next.g[TYPE.endpoint]!.a = endpoints('a', [4343]);
    running.cache.setFleet(fleet(next));
    const r2 = await s.next();
    expect(sent(r2)).toEqual(['a']);
    s.close();
  });

  it('reconnect with initial_resource_versions: no re-send of what is current, removals for what is gone', async () => {
    running = await startServer(base());
    const s1 = deltaStream(running.client);
    s1.send({ node: ENVOY_NODE('n1'), type_url: TYPE.cluster });
    const r1 = await s1.next(); // legacy wildcard (empty first request from Envoy)
    expect(sent(r1)).toEqual(['a', 'b']);
    const held = Object.fromEntries(r1.resources.map((x) => [x.name, x.version]));
    s1.close();

    const next = base();
    delete next.g[TYPE.cluster]!.b;
    next.g[TYPE.cluster]!.c = cluster('c');
    running.cache.setFleet(fleet(next));
    const s2 = deltaStream(running.client);
    s2.send({ node: ENVOY_NODE('n1'), type_url: TYPE.cluster, initial_resource_versions: held });
    const r2 = await s2.next();
    expect(sent(r2)).toEqual(['c']);
    expect(r2.removed_resources).toEqual(['b']);

    // Named type: a subscribed name held at the current version is not re-sent, a stale one is.
    const s3 = deltaStream(running.client);
    const eds = running.cache.get('g', TYPE.endpoint);
    s3.send({
      node: ENVOY_NODE('n2'),
      type_url: TYPE.endpoint,
      resource_names_subscribe: ['a', 'b'],
      initial_resource_versions: { a: eds.resources.get('a')!.version, b: 'old-version' },
    });
    expect(sent(await s3.next())).toEqual(['b']);
    s2.close();
    s3.close();
  });

  it('removals: missing names at once, deleted resources later; a pure unsubscribe is not answered', async () => {
    running = await startServer(base());
    const s = deltaStream(running.client);
    s.send({
      node: ENVOY_NODE('n1'),
      type_url: TYPE.endpoint,
      resource_names_subscribe: ['a', 'b', 'missing'],
    });
    const r1 = await s.next();
    expect(sent(r1)).toEqual(['a', 'b']);
    expect(r1.removed_resources).toEqual(['missing']);
    s.send(ack(r1));
    const next = base();
    delete next.g[TYPE.endpoint]!.a;
    running.cache.setFleet(fleet(next));
    const r2 = await s.next();
    expect(r2.resources).toEqual([]);
    expect(r2.removed_resources).toEqual(['a']);
    s.send({ ...ack(r2), resource_names_unsubscribe: ['b'] });
    await barrier(s);
    // The name comes back: it is sent again (the client dropped it when it unsubscribed).
    s.send({ type_url: TYPE.endpoint, resource_names_subscribe: ['b'] });
    expect(sent(await s.next())).toEqual(['b']);
    s.close();
  });

  it('answers every subscribe even if the resource is unchanged; wildcard + name unsubscribe re-states it', async () => {
    running = await startServer(base());
    const s = deltaStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.cluster, resource_names_subscribe: ['*', 'a'] });
    const r1 = await s.next();
    s.send(ack(r1));
    s.send({ type_url: TYPE.cluster, resource_names_subscribe: ['a'] });
    expect(sent(await s.next())).toEqual(['a']);
    s.send({ type_url: TYPE.cluster, resource_names_unsubscribe: ['a'] });
    expect(sent(await s.next())).toEqual(['a']); // still in the wildcard
    s.send({ type_url: TYPE.cluster, resource_names_unsubscribe: ['*'] });
    await barrier(s); // dropping the wildcard is not answered
    s.close();
  });

  it('an ACK for an older nonce still counts; an unknown nonce is stale but its subscriptions apply', async () => {
    running = await startServer(base());
    const s = deltaStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.endpoint, resource_names_subscribe: ['a'] });
    const r1 = await s.next();
    s.send({ type_url: TYPE.endpoint, response_nonce: 'not-a-nonce', resource_names_subscribe: ['b'] });
    const r2 = await s.next();
    expect(sent(r2)).toEqual(['b']);
    s.send(ack(r1));
    s.send(ack(r2));
    await barrier(s);
    expect((await running.server.metrics.staleNonces.get()).values[0]?.value).toBe(1);
    expect(running.server.syncz()[0]!.types.find((t) => t.typeUrl === TYPE.endpoint)!.acked?.nonce).toBe(
      r2.nonce,
    );
    s.close();
  });
});

describe('per-type delta service', () => {
  it('EndpointDiscoveryService/DeltaEndpoints serves endpoints by name', async () => {
    running = await startServer(base());
    const s = deltaStream(
      running.client,
      '/envoy.service.endpoint.v3.EndpointDiscoveryService/DeltaEndpoints',
    );
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.endpoint, resource_names_subscribe: ['b'] });
    expect(sent(await s.next())).toEqual(['b']);
    s.close();
  });
});

describe('custom type sidecast.v1.Subscription', () => {
  const sub = (name: string, topic: string) =>
    encodeSubscription({
      name,
      service: 'notifications',
      topics: [topic],
      delivery: { url: 'http://127.0.0.1:9000/events', timeout: '5s' },
    });
  const bridgeFleet = (subs: Record<string, Uint8Array>) => ({
    'sidecast-bridge': { [SUBSCRIPTION_TYPE_URL]: subs },
  });
  const BRIDGE = { id: 'sidecast-bridge-1', cluster: 'sidecast-bridge', user_agent_name: 'sidecast-bridge' };

  it('is served over delta with wildcard, updates and removals', async () => {
    running = await startServer(bridgeFleet({ 'notifications/a': sub('notifications/a', 'acme/x/>') }));
    const s = deltaStream(running.client);
    s.send({ node: BRIDGE, type_url: SUBSCRIPTION_TYPE_URL, resource_names_subscribe: ['*'] });
    const r1 = await s.next();
    expect(sent(r1)).toEqual(['notifications/a']);
    expect(decodeSubscription(r1.resources[0]!.resource.value).topics).toEqual(['acme/x/>']);
    s.send(ack(r1));
    running.cache.setFleet(fleet(bridgeFleet({ 'notifications/b': sub('notifications/b', 'acme/y/*') })));
    const r2 = await s.next();
    expect(sent(r2)).toEqual(['notifications/b']);
    expect(r2.removed_resources).toEqual(['notifications/a']);
    s.close();
  });

  it('is full-state in SotW, so a deletion is expressible', async () => {
    running = await startServer(
      bridgeFleet({
        'notifications/a': sub('notifications/a', 'acme/x/>'),
        'notifications/b': sub('notifications/b', 'acme/y'),
      }),
    );
    const s = sotwStream(running.client);
    s.send({ node: BRIDGE, type_url: SUBSCRIPTION_TYPE_URL, resource_names: ['*'] });
    const r1 = await s.next();
    expect(r1.resources.map((a) => decodeSubscription(a.value).name)).toEqual([
      'notifications/a',
      'notifications/b',
    ]);
    s.send(sotwAck(r1, ['*']));
    running.cache.setFleet(fleet(bridgeFleet({ 'notifications/b': sub('notifications/b', 'acme/y') })));
    const r2 = await s.next();
    expect(r2.resources.map((a) => decodeSubscription(a.value).name)).toEqual(['notifications/b']);
    s.close();
  });
});
