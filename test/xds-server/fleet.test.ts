// What a fleet does to a control plane (issue 13): clients that stop reading, nodes that match no
// group or carry no id, oversized input, unknown types, clients that do not ACK — with raw clients.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { nodeProblem } from '../../xds-server/mesh/group.js';
import { XdsStream } from '../../xds-server/server/stream.js';
import { deltaStream, sotwAck, sotwStream } from './ads-client.js';
import {
  cluster,
  endpoints,
  ENVOY_NODE,
  fleet,
  startServer,
  stopServers,
  TYPE,
  type GroupResources,
} from './fixtures.js';
import { H2DiscoveryStream } from './h2-client.js';

afterEach(stopServers);
const h2: H2DiscoveryStream[] = [];
afterEach(() => {
  for (const c of h2.splice(0)) c.close();
});

const eds = (port: number): { g: GroupResources } => ({
  g: {
    [TYPE.cluster]: { a: cluster('a') },
    [TYPE.endpoint]: { a: endpoints('a', [port]), b: endpoints('b', [9000]) },
  },
});

/** Polls a condition (never a fixed sleep): the server's view changes asynchronously. */
async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const metric = async (m: { get(): Promise<{ values: Array<{ value: number }> }> }) =>
  (await m.get()).values.reduce((a, v) => a + v.value, 0);

describe('clients that stop reading (HTTP/2 window 0)', () => {
  it('N stuck streams cannot starve a healthy one: writes time out, slots are freed, slow streams are shown', async () => {
    const running = await startServer(eds(1000), { pushConcurrency: 2, writeTimeoutMs: 150 });
    const address = running.address;
    for (let i = 0; i < 6; i++) {
      const stuck = new H2DiscoveryStream(address, { zeroWindow: true });
      stuck.send({ node: ENVOY_NODE(`stuck-${i}`), type_url: TYPE.endpoint, resource_names: ['a'] });
      h2.push(stuck);
    }
    await until(
      'the stuck streams to be marked slow',
      () => running.server.syncz().filter((s) => s.slowSince).length === 6,
    );
    expect(await metric(running.server.metrics.slowStreams)).toBe(6);

    // A change while they are stuck, and a healthy client joining now: it gets both in bounded time.
    running.cache.setFleet(fleet(eds(1001)));
    const healthy = sotwStream(running.client);
    healthy.send({ node: ENVOY_NODE('healthy'), type_url: TYPE.endpoint, resource_names: ['a'] });
    const first = await healthy.next(10_000);
    expect(first.version_info).toBe(running.cache.get('g', TYPE.endpoint).version);
    healthy.send(sotwAck(first, ['a']));
    running.cache.setFleet(fleet(eds(1002)));
    const update = await healthy.next(10_000);
    expect(update.version_info).toBe(running.cache.get('g', TYPE.endpoint).version);
    // The stuck ones still hold only their first response: nothing more was written to them.
    const stuckView = running.server.syncz().filter((s) => s.nodeId.startsWith('stuck-'));
    expect(stuckView.every((s) => s.types[0]!.sent?.nonce === '1')).toBe(true);
    expect(await metric(running.server.metrics.writeTimeouts)).toBeGreaterThanOrEqual(6);
    healthy.close();
  });

  it('a stream that reads again is written to again, with the newest state', async () => {
    const running = await startServer(eds(1000), { writeTimeoutMs: 100 });
    const c = new H2DiscoveryStream(running.address, { zeroWindow: true });
    h2.push(c);
    const got: Array<Record<string, unknown>> = [];
    c.onResponse = (r) => got.push(r);
    c.send({ node: ENVOY_NODE('wakes-up'), type_url: TYPE.endpoint, resource_names: ['a'] });
    await until('slow', () => running.server.syncz()[0]?.slowSince !== undefined);
    running.cache.setFleet(fleet(eds(1001)));
    c.session.settings({ initialWindowSize: 65_535 }); // reads again
    await until('the first response', () => got.length === 1);
    await until('not slow', () => running.server.syncz()[0]?.slowSince === undefined);
    c.send({
      type_url: TYPE.endpoint,
      version_info: got[0]!.version_info,
      response_nonce: got[0]!.nonce,
      resource_names: ['a'],
    });
    await until('the newest state', () => got.length === 2);
    expect(got[1]!.version_info).toBe(running.cache.get('g', TYPE.endpoint).version);
  });
});

describe('nodes', () => {
  it('a node of no group is sent nothing (never an empty full state), counted, shown; it is served once its group appears', async () => {
    const running = await startServer(eds(1000));
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('typo-0', 'acounts'), type_url: TYPE.cluster, resource_names: [] });
    await until('the unknown node to show', () => running.server.syncz()[0]?.unknownGroup === true);
    expect(await metric(running.server.metrics.unknownNodes)).toBe(1);
    // A full-state response now (even empty) would delete every cluster of a real Envoy: the first
    // response must be the one carrying the group's config once it exists.
    running.cache.setFleet(fleet({ ...eds(1000), acounts: { [TYPE.cluster]: { x: cluster('x') } } }));
    const first = await s.next();
    expect(first.nonce).toBe('1');
    expect(first.resources).toHaveLength(1);
    // The group vanishes again: the node keeps what it has (no empty response).
    s.send(sotwAck(first, []));
    running.cache.setFleet(fleet(eds(1000)));
    await until('unknown again', () => running.server.syncz()[0]?.unknownGroup === true);
    const probe = deltaStream(running.client);
    probe.send({ node: ENVOY_NODE('probe'), type_url: TYPE.endpoint, resource_names_subscribe: ['a'] });
    await probe.next();
    expect(running.server.syncz().find((x) => x.nodeId === 'typo-0')!.types[0]!.sent?.nonce).toBe('1');
    s.close();
    probe.close();
  });

  it('refuses an empty node.id, and (mesh rule) a sidecar without node.cluster, saying why', async () => {
    const running = await startServer(eds(1000), { nodeProblem });
    const noId = sotwStream(running.client);
    noId.send({ node: { id: '', cluster: 'g' }, type_url: TYPE.cluster, resource_names: [] });
    const st = await noId.status();
    expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st.details).toMatch(/node\.id is empty/);
    const noCluster = deltaStream(running.client);
    noCluster.send({ node: { id: 'accounts-0', user_agent_name: 'envoy' }, type_url: TYPE.cluster });
    const st2 = await noCluster.status();
    expect(st2.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st2.details).toMatch(/node\.cluster is empty.*--service-cluster/);
    expect(await metric(running.server.metrics.rejectedNodes)).toBe(2);
  });

  it('caps node size and request size with a clear status', async () => {
    const running = await startServer(eds(1000), { maxNodeBytes: 4096 });
    const big = sotwStream(running.client);
    big.send({
      node: { id: 'n', cluster: 'g', metadata: { fields: { blob: { stringValue: 'x'.repeat(10_000) } } } },
      type_url: TYPE.cluster,
      resource_names: [],
    });
    const st = await big.status();
    expect(st.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(st.details).toMatch(/node is \d+ bytes, above this xds-server's cap of 4096 \(--max-node-bytes\)/);

    const huge = sotwStream(running.client);
    huge.send({
      node: ENVOY_NODE('n2'),
      type_url: TYPE.endpoint,
      resource_names: Array.from({ length: 30_000 }, (_, i) => `endpoint-name-${i}-padding-padding`),
    });
    const st2 = await huge.status();
    expect(st2.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(st2.details).toMatch(/larger than max/);
  });
});

describe('types and methods', () => {
  it('refuses an unknown type_url on SotW with a status naming it; delta answers named ones as removed', async () => {
    const running = await startServer(eds(1000));
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: 'type.googleapis.com/acme.Nope', resource_names: ['x'] });
    const st = await s.status();
    expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st.details).toMatch(/type_url type\.googleapis\.com\/acme\.Nope is not served/);
    const d = deltaStream(running.client);
    d.send({
      node: ENVOY_NODE('n2'),
      type_url: 'type.googleapis.com/acme.Nope',
      resource_names_subscribe: ['x'],
    });
    expect((await d.next()).removed_resources).toEqual(['x']);
    d.close();
  });

  it('answers REST/unary Fetch with UNIMPLEMENTED and a pointer to ADS', async () => {
    const running = await startServer(eds(1000));
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      running.client.makeUnaryRequest(
        '/envoy.service.cluster.v3.ClusterDiscoveryService/FetchClusters',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (e) => resolve(e!),
      ),
    );
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(err.details).toMatch(/use ADS/);
  });
});

describe('push gating and work per change', () => {
  it('holds pushes of a type until its last response is answered, then sends the newest version once', async () => {
    const running = await startServer(eds(1000));
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.endpoint, resource_names: ['a'] });
    const r1 = await s.next();
    for (let port = 1001; port <= 1005; port++) running.cache.setFleet(fleet(eds(port)));
    // Nothing goes out while r1 is un-ACKed: a round trip on another type comes back first.
    s.send({ type_url: TYPE.cluster, resource_names: [] });
    expect((await s.next()).type_url).toBe(TYPE.cluster);
    s.send(sotwAck(r1, ['a']));
    const r2 = await s.next();
    expect(r2.type_url).toBe(TYPE.endpoint);
    expect(r2.version_info).toBe(running.cache.get('g', TYPE.endpoint).version);
    expect(running.server.syncz()[0]!.types.find((t) => t.typeUrl === TYPE.endpoint)!.sent?.nonce).toBe(
      r2.nonce,
    );
    s.close();
  });

  it('delta: only the latest response gates; a client that ACKs just the newest nonce still gets pushes', async () => {
    const running = await startServer(eds(1000));
    const s = deltaStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.endpoint, resource_names_subscribe: ['a'] });
    await s.next(); // never ACKed
    s.send({ type_url: TYPE.endpoint, resource_names_subscribe: ['b'] });
    const second = await s.next();
    s.send({ type_url: TYPE.endpoint, response_nonce: second.nonce });
    await until('the ACK', () => running.server.syncz()[0]!.types[0]!.state === 'SYNCED');
    running.cache.setFleet(fleet(eds(1001)));
    expect((await s.next()).resources.map((r) => r.name)).toEqual(['a']);
    s.close();
  });

  it('a change touches only the streams subscribed to a changed name (or the whole type)', async () => {
    const running = await startServer(eds(1000));
    const streams = ['a', 'b', 'b', 'b'].map((name, i) => {
      const s = deltaStream(running.client);
      s.send({ node: ENVOY_NODE(`n${i}`), type_url: TYPE.endpoint, resource_names_subscribe: [name] });
      return s;
    });
    for (const s of streams) {
      const r = await s.next();
      s.send({ type_url: r.type_url, response_nonce: r.nonce });
    }
    await until('all ACKed', () => running.server.syncz().every((x) => x.types[0]!.state === 'SYNCED'));
    const flush = jest.spyOn(XdsStream.prototype, 'flush');
    try {
      running.cache.setFleet(fleet(eds(1001))); // only CLA a changes
      expect((await streams[0]!.next()).resources.map((r) => r.name)).toEqual(['a']);
      expect(flush).toHaveBeenCalledTimes(1);
    } finally {
      flush.mockRestore();
    }
    for (const s of streams) s.close();
  });
});
