// State-of-the-world ADS protocol rules (reference/xds.md §1.4–1.8, §1.13) against a raw client.
import { afterEach, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { sotwAck, sotwNack, sotwStream, type SotwResponseMsg, type SotwStream } from './ads-client.js';
import {
  apiListener,
  cluster,
  endpoints,
  ENVOY_NODE,
  fleet,
  GRPC_NODE,
  route,
  startServer,
  stopServers,
  TYPE,
  type Running,
  type GroupResources,
} from './fixtures.js';

let running: Running | undefined;
afterEach(stopServers);

// Each fixture's name is its field 1 (Cluster/CLA/Listener/RouteConfiguration): read it off the bytes.
const nameOf = (bytes: Uint8Array): string => Buffer.from(bytes.subarray(2, 2 + bytes[1]!)).toString();
const resNames = (r: SotwResponseMsg): string[] => r.resources.map((a) => nameOf(a.value));

/** A round trip on another type: any response to the type under test would have come first. */
async function barrier(s: SotwStream): Promise<void> {
  s.send({ type_url: TYPE.route, resource_names: [] });
  s.send({ type_url: TYPE.route, resource_names: ['barrier'] });
  const r = await s.next();
  expect(r.type_url).toBe(TYPE.route);
}

const base = (): { g: GroupResources } => ({
  g: {
    [TYPE.cluster]: { a: cluster('a'), b: cluster('b') },
    [TYPE.endpoint]: { a: endpoints('a', [1001]), b: endpoints('b', [1002]) },
    [TYPE.listener]: { l1: apiListener('l1', 'r1') },
    [TYPE.route]: { r1: route('r1', '*', 'a'), barrier: route('barrier', '*', 'a') },
  },
});

describe('SotW ADS', () => {
  it('answers with the node group, control_plane.identifier and a content version; ACK sends nothing more', async () => {
    running = await startServer(base(), { controlPlaneId: 'cp-test-1' });
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.cluster, resource_names: [] });
    const r = await s.next();
    expect(r.type_url).toBe(TYPE.cluster);
    expect(resNames(r)).toEqual(['a', 'b']);
    expect(r.control_plane?.identifier).toBe('cp-test-1');
    expect(r.version_info).toBe(running.cache.get('g', TYPE.cluster).version);
    s.send(sotwAck(r, []));
    await barrier(s);
    const st = running.server.syncz()[0]!.types.find((t) => t.typeUrl === TYPE.cluster)!;
    expect(st.state).toBe('SYNCED');
    expect(st.acked?.nonce).toBe(r.nonce);
    s.close();
  });

  it('rejects a stream whose first request has no node', async () => {
    running = await startServer(base());
    const s = sotwStream(running.client);
    s.send({ type_url: TYPE.cluster, resource_names: [] });
    const status = await s.status();
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/node/);
  });

  it('ends a stream whose request is not a DiscoveryRequest, and goes on serving others', async () => {
    running = await startServer(base());
    const garbage = running.client.makeBidiStreamRequest(
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    const ended = new Promise<grpc.StatusObject>((resolve) => garbage.on('status', resolve));
    garbage.on('error', () => undefined);
    garbage.write(Buffer.from([0x0a, 0xff, 0xff, 0xff]));
    expect((await ended).code).not.toBe(grpc.status.OK);
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.cluster, resource_names: [] });
    expect(resNames(await s.next())).toEqual(['a', 'b']);
    s.close();
  });

  it('latches the node from the first request only', async () => {
    running = await startServer(base());
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.cluster, resource_names: [] });
    await s.next();
    // Later requests carry no node (set_node_on_first_message_only) and are still served.
    s.send({ type_url: TYPE.endpoint, resource_names: ['a'] });
    const eds = await s.next();
    expect(resNames(eds)).toEqual(['a']);
    expect(running.server.syncz()[0]!.nodeId).toBe('n1');
    s.close();
  });

  it('NACK (error_detail) is recorded and the rejected version is never re-sent; a newer one is', async () => {
    running = await startServer(base());
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.cluster, resource_names: [] });
    const r1 = await s.next();
    s.send(sotwNack(r1, [], '', 'cluster a: bad connect_timeout'));
    // The client retries its request (same names): still no re-send of the NACKed version.
    s.send({
      type_url: TYPE.cluster,
      resource_names: [],
      version_info: '',
      response_nonce: r1.nonce,
      error_detail: { code: 3, message: 'again' },
    });
    await barrier(s);
    const st = running.server.syncz()[0]!.types.find((t) => t.typeUrl === TYPE.cluster)!;
    expect(st.state).toBe('NACKED');
    expect(st.lastNack).toMatchObject({
      version: r1.version_info,
      nonce: r1.nonce,
      message: 'cluster a: bad connect_timeout',
    });
    expect(running.server.nackLog()).toEqual([
      expect.objectContaining({ nodeId: 'n1', typeUrl: TYPE.cluster, version: r1.version_info }),
    ]);
    expect((await running.server.metrics.nacks.get()).values[0]).toMatchObject({
      labels: { type: 'cds' },
      value: 1,
    });

    const next = base();
    next.g[TYPE.cluster]!.a = cluster('a', '2s');
    running.cache.setFleet(fleet(next));
    const r2 = await s.next();
    expect(r2.type_url).toBe(TYPE.cluster);
    expect(r2.version_info).not.toBe(r1.version_info);
    s.send(sotwAck(r2, []));
    s.close();
  });

  it('a stale nonce is not an ACK, but its resource names are applied', async () => {
    running = await startServer(base());
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.endpoint, resource_names: ['a'] });
    const r1 = await s.next();
    s.send(sotwAck(r1, ['a']));
    const next = base();
    next.g[TYPE.endpoint]!.a = endpoints('a', [2001]);
    running.cache.setFleet(fleet(next));
    const r2 = await s.next();
    expect(r2.nonce).not.toBe(r1.nonce);
    // Reply to the old response, adding b: b must be sent, and r2 must stay un-ACKed.
    s.send({
      type_url: TYPE.endpoint,
      version_info: r1.version_info,
      response_nonce: r1.nonce,
      resource_names: ['a', 'b'],
    });
    const r3 = await s.next();
    expect(resNames(r3)).toEqual(['b']);
    const st = running.server.syncz()[0]!.types.find((t) => t.typeUrl === TYPE.endpoint)!;
    expect(st.acked?.nonce).toBe(r1.nonce); // r2 (and r3) are not ACKed by the stale reply
    expect((await running.server.metrics.staleNonces.get()).values[0]?.value).toBe(1);
    s.close();
  });

  it('answers with what exists at once and sends missing names the moment they appear', async () => {
    running = await startServer(base());
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.endpoint, resource_names: ['a', 'later'] });
    const r1 = await s.next();
    expect(resNames(r1)).toEqual(['a']);
    s.send(sotwAck(r1, ['a', 'later']));
    const next = base();
    next.g[TYPE.endpoint]!.later = endpoints('later', [3001]);
    running.cache.setFleet(fleet(next));
    const r2 = await s.next();
    expect(resNames(r2)).toEqual(['later']); // EDS is not full-state: only what changed
    s.close();
  });

  it('re-sends a re-subscribed name even when unchanged', async () => {
    running = await startServer(base());
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.endpoint, resource_names: ['a'] });
    const r1 = await s.next();
    s.send(sotwAck(r1, []));
    s.send({ type_url: TYPE.endpoint, version_info: r1.version_info, resource_names: ['a'] });
    const r2 = await s.next();
    expect(resNames(r2)).toEqual(['a']);
    s.close();
  });

  it('Listener and Cluster are sent in full; an empty full-state response deletes', async () => {
    running = await startServer(base());
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.cluster, resource_names: [] });
    const r1 = await s.next();
    s.send(sotwAck(r1, []));
    const next = base();
    next.g[TYPE.cluster]!.b = cluster('b', '3s');
    running.cache.setFleet(fleet(next));
    const r2 = await s.next();
    expect(resNames(r2)).toEqual(['a', 'b']);
    s.send(sotwAck(r2, []));
    running.cache.setFleet(fleet({ g: { [TYPE.route]: base().g[TYPE.route]! } }));
    const r3 = await s.next();
    expect(r3.type_url).toBe(TYPE.cluster);
    expect(r3.resources).toEqual([]);
    s.close();
  });

  it('pushes CDS → EDS → LDS → RDS, with the endpoints of changed clusters (only) re-sent after a cluster change', async () => {
    running = await startServer(base());
    const s = sotwStream(running.client);
    // Envoy may ask in any order (envoy #33607); each request is answered with what exists.
    const initial = new Map<string, SotwResponseMsg>();
    const ask = async (type: string, resource_names: string[], node?: object) => {
      s.send({ node, type_url: type, resource_names });
      initial.set(type, await s.next());
    };
    await ask(TYPE.route, ['r1'], ENVOY_NODE('n1'));
    await ask(TYPE.listener, []);
    await ask(TYPE.endpoint, ['a', 'b']);
    s.send(sotwAck(initial.get(TYPE.endpoint)!, ['a', 'b']));
    await ask(TYPE.cluster, []);
    const edsAfterCds = await s.next();
    expect(resNames(edsAfterCds)).toEqual(['a', 'b']); // the (new) clusters' endpoints follow
    s.send(sotwAck(initial.get(TYPE.cluster)!, []));
    s.send(sotwAck(edsAfterCds, ['a', 'b']));
    s.send(sotwAck(initial.get(TYPE.listener)!, []));
    s.send(sotwAck(initial.get(TYPE.route)!, ['r1']));

    const next = base();
    next.g[TYPE.cluster]!.a = cluster('a', '5s');
    next.g[TYPE.endpoint]!.a = endpoints('a', [1009]);
    next.g[TYPE.listener]!.l1 = apiListener('l1', 'r2');
    next.g[TYPE.route]!.r1 = route('r1', 'x', 'b');
    running.cache.setFleet(fleet(next));
    const pushed: SotwResponseMsg[] = [];
    for (let i = 0; i < 4; i++) pushed.push(await s.next());
    expect(pushed.map((r) => r.type_url)).toEqual([TYPE.cluster, TYPE.endpoint, TYPE.listener, TYPE.route]);
    expect(resNames(pushed[1]!)).toEqual(['a']); // a's cluster and CLA changed; b's did not
    for (const r of pushed)
      s.send(sotwAck(r, r.type_url === TYPE.endpoint ? ['a', 'b'] : r.type_url === TYPE.route ? ['r1'] : []));

    // Only cluster b changes: b's endpoints (unchanged) follow, at the same EDS version; a's do not.
    const again = structuredClone(next);
    again.g[TYPE.cluster]!.b = cluster('b', '7s');
    running.cache.setFleet(fleet(again));
    const cds = await s.next();
    const eds = await s.next();
    expect([cds.type_url, eds.type_url]).toEqual([TYPE.cluster, TYPE.endpoint]);
    expect(resNames(eds)).toEqual(['b']);
    expect(eds.version_info).toBe(pushed[1]!.version_info);
    s.close();
  });

  it('wildcard: legacy empty request for Envoy, never for gRPC clients, never for RDS/EDS; [*,A] → [A] → []', async () => {
    running = await startServer(base());
    const envoy = sotwStream(running.client);
    envoy.send({ node: ENVOY_NODE('envoy-1'), type_url: TYPE.listener, resource_names: [] });
    expect(resNames(await envoy.next())).toEqual(['l1']);
    envoy.send({ type_url: TYPE.endpoint, resource_names: [] }); // EDS empty: no wildcard, nothing to send
    await barrier(envoy);

    const grpcClient = sotwStream(running.client);
    grpcClient.send({ node: GRPC_NODE('grpc-1'), type_url: TYPE.listener, resource_names: [] });
    const g1 = await grpcClient.next();
    expect(g1.resources).toEqual([]); // an empty list from gRPC means "nothing", answered at once

    const c = sotwStream(running.client);
    c.send({ node: ENVOY_NODE('envoy-2'), type_url: TYPE.cluster, resource_names: ['*', 'a'] });
    const w = await c.next();
    expect(resNames(w)).toEqual(['a', 'b']);
    c.send(sotwAck(w, ['a'])); // drops the wildcard: the client forgets b itself, nothing to send
    await barrier(c);
    expect(
      running.server
        .syncz()
        .find((x) => x.nodeId === 'envoy-2')!
        .types.find((t) => t.typeUrl === TYPE.cluster)!.subscribed,
    ).toEqual(['a']);
    const next = base();
    next.g[TYPE.cluster]!.b = cluster('b', '9s');
    running.cache.setFleet(fleet(next));
    await barrier(c); // b is no longer subscribed: no cluster response
    next.g[TYPE.cluster]!.a = cluster('a', '9s');
    running.cache.setFleet(fleet(next));
    const onlyA = await c.next();
    expect(onlyA.type_url).toBe(TYPE.cluster);
    expect(resNames(onlyA)).toEqual(['a']);
    c.send(sotwAck(onlyA, [])); // [] after names were given = unsubscribed, not wildcard
    await barrier(c);
    next.g[TYPE.cluster]!.a = cluster('a', '10s');
    running.cache.setFleet(fleet(next));
    await barrier(c);
    envoy.close();
    grpcClient.close();
    c.close();
  });

  it('per-type services serve their own type and refuse others', async () => {
    running = await startServer(base());
    const cds = sotwStream(
      running.client,
      '/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters',
    );
    cds.send({ node: ENVOY_NODE('n1'), type_url: TYPE.cluster, resource_names: [] });
    expect(resNames(await cds.next())).toEqual(['a', 'b']);
    cds.send({ type_url: TYPE.listener, resource_names: [] });
    const st = await cds.status();
    expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st.details).toMatch(/ClusterLoadAssignment|Cluster only/);
  });
});
