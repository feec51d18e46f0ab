// Resource TTL + heartbeats (reference/xds.md §1.9) and max connection age with GOAWAY.
import { afterEach, describe, expect, it } from '@jest/globals';
import { envoyRoot } from '../../proto/envoy.js';
import { SnapshotCache } from '../../xds-server/cache/snapshot-cache.js';
import { SUPPORTS_RESOURCE_IN_SOTW, SUPPORTS_TTL, XdsServer } from '../../xds-server/server/xds-server.js';
import { adsClient, deltaStream, sotwAck, sotwStream } from './ads-client.js';
import { cluster, endpoints, fleet, groupByClusterOrId, startServer, stopServers, TYPE } from './fixtures.js';
import { H2DiscoveryStream } from './h2-client.js';

afterEach(stopServers);
const resources = () => ({
  g: { [TYPE.cluster]: { a: cluster('a') }, [TYPE.endpoint]: { a: endpoints('a', [1]) } },
});
const node = (id: string, features: string[]) => ({
  id,
  cluster: 'g',
  user_agent_name: 'envoy',
  client_features: features,
});
const ttl = { ttlMs: 3000, types: [TYPE.endpoint, TYPE.cluster], heartbeatMs: 100 };
const Resource = () => envoyRoot().lookupType('envoy.service.discovery.v3.Resource');

describe('resource TTL', () => {
  it('delta: resources carry the TTL and heartbeats re-state them (version + ttl, no body)', async () => {
    const running = await startServer(resources(), { ttl });
    const s = deltaStream(running.client);
    s.send({ node: node('n1', [SUPPORTS_TTL]), type_url: TYPE.endpoint, resource_names_subscribe: ['a'] });
    const first = await s.next();
    const r = first.resources[0] as unknown as {
      version: string;
      ttl?: { seconds: number };
      resource?: unknown;
    };
    expect(Number(r.ttl?.seconds)).toBe(3);
    expect(r.resource).toBeTruthy();
    s.send({ type_url: first.type_url, response_nonce: first.nonce });
    const beat = await s.next();
    const h = beat.resources[0] as unknown as {
      name: string;
      version: string;
      ttl?: object;
      resource?: unknown;
    };
    expect([h.name, h.version, !!h.ttl, h.resource ?? null]).toEqual(['a', r.version, true, null]);
    s.close();
  });

  it('no TTL for clients that do not advertise it; SotW wraps in Resource only with supports-resource-in-sotw, never for LDS/CDS', async () => {
    const running = await startServer(resources(), { ttl });
    const plain = deltaStream(running.client);
    plain.send({ node: node('n0', []), type_url: TYPE.endpoint, resource_names_subscribe: ['a'] });
    const untimed = (await plain.next()).resources[0] as unknown as { ttl?: object | null };
    expect(untimed.ttl ?? null).toBeNull();

    const s = sotwStream(running.client);
    s.send({
      node: node('n1', [SUPPORTS_TTL, SUPPORTS_RESOURCE_IN_SOTW]),
      type_url: TYPE.endpoint,
      resource_names: ['a'],
    });
    const eds = await s.next();
    expect(eds.resources[0]!.type_url).toBe('type.googleapis.com/envoy.service.discovery.v3.Resource');
    const wrapped = Resource().decode(eds.resources[0]!.value) as unknown as {
      name: string;
      ttl: { seconds: number };
    };
    expect([wrapped.name, Number(wrapped.ttl.seconds)]).toEqual(['a', 3]);
    s.send(sotwAck(eds, ['a']));
    s.send({ type_url: TYPE.cluster, resource_names: [] });
    const cds = await s.next();
    // A SotW heartbeat of a full-state type would read as "no clusters" to Envoy: CDS is never wrapped.
    expect(cds.type_url).toBe(TYPE.cluster);
    expect(cds.resources[0]!.type_url).toBe(TYPE.cluster);
    plain.close();
    s.close();
  });
});

describe('max connection age', () => {
  it('sends GOAWAY when a connection is too old; the client reconnects and is served again', async () => {
    const cache = new SnapshotCache();
    cache.setFleet(fleet(resources()));
    const server = new XdsServer({ cache, groupOf: groupByClusterOrId });
    const port = await server.listen('127.0.0.1:0', undefined, {
      'grpc.max_connection_age_ms': 300,
      'grpc.max_connection_age_grace_ms': 200,
    });
    try {
      const c = new H2DiscoveryStream(`127.0.0.1:${port}`);
      let answers = 0;
      c.onResponse = () => answers++;
      c.send({ node: node('n1', []), type_url: TYPE.cluster, resource_names: [] });
      await c.ended; // after GOAWAY + grace the old connection is closed
      expect(c.goaway).toBe(true);
      expect(answers).toBe(1);
      c.close();
      const client = adsClient(`127.0.0.1:${port}`);
      const again = sotwStream(client);
      again.send({ node: node('n1', []), type_url: TYPE.cluster, resource_names: [] });
      expect((await again.next()).type_url).toBe(TYPE.cluster);
      again.close();
      client.close();
    } finally {
      await server.close();
    }
  });
});
