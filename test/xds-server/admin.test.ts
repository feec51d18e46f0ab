// Admin API over a live server: health, readiness, metrics, syncz with a NACK, config_dump, auth.
import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { envoyChecker } from '../../proto/envoy.js';
import { startAdmin, type AdminServer } from '../../xds-server/admin/admin-server.js';
import { SnapshotCache } from '../../xds-server/cache/snapshot-cache.js';
import { XdsServer } from '../../xds-server/server/xds-server.js';
import { adsClient, sotwNack, sotwStream } from './ads-client.js';
import { cluster, ENVOY_NODE, fleet, groupByClusterOrId, TYPE } from './fixtures.js';

let close: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of close.reverse()) await c();
  close = [];
});

async function setup(token?: string) {
  const cache = new SnapshotCache();
  const registry = new Registry();
  const server = new XdsServer({ cache, groupOf: groupByClusterOrId, registry, controlPlaneId: 'cp-admin' });
  const port = await server.listen('127.0.0.1:0');
  const admin: AdminServer = await startAdmin(
    {
      server,
      cache,
      registry,
      mesh: () => ({ source: 'test' }),
      groupOfNodeId: (id) => id,
      describe: (typeUrl, bytes) => envoyChecker().decode(typeUrl, bytes, typeUrl),
    },
    { address: '127.0.0.1:0', token },
  );
  const client = adsClient(`127.0.0.1:${port}`);
  close.push(
    () => server.close(),
    () => admin.close(),
    () => client.close(),
  );
  const get = (path: string, auth?: string) =>
    fetch(`http://127.0.0.1:${admin.port}${path}`, { headers: auth ? { authorization: auth } : {} });
  return { cache, server, client, get };
}

describe('admin API', () => {
  it('is not ready before the first config, then ready; health and metrics answer', async () => {
    const { cache, get } = await setup();
    expect((await get('/healthz')).status).toBe(200);
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { reason: string }).reason).toMatch(/no mesh config/);
    cache.setFleet(fleet({ g: { [TYPE.cluster]: { a: cluster('a') } } }));
    expect((await get('/readyz')).status).toBe(200);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toMatch(/sidecast_xds_pushes_total/);
    expect(metrics).toMatch(/# HELP sidecast_xds_convergence_seconds /);
    expect((await get('/nope')).status).toBe(404);
  });

  it('syncz shows each stream × type with its NACK; config_dump decodes what a node gets', async () => {
    const { cache, client, get } = await setup();
    cache.setFleet(fleet({ g: { [TYPE.cluster]: { a: cluster('a') } } }));
    const s = sotwStream(client);
    s.send({ node: ENVOY_NODE('envoy-7'), type_url: TYPE.cluster, resource_names: [] });
    const r = await s.next();
    s.send(sotwNack(r, [], '', 'cluster a: unsupported'));
    s.send({ type_url: TYPE.route, resource_names: ['x'] }); // ordered after the NACK on the stream
    let syncz:
      | {
          controlPlane: string;
          streams: Array<{
            nodeId: string;
            types: Array<{ typeUrl: string; state: string; lastNack?: { message: string } }>;
          }>;
          nacks: unknown[];
        }
      | undefined;
    for (let i = 0; i < 50 && !syncz?.streams[0]?.types.some((t) => t.typeUrl === TYPE.route); i++) {
      syncz = (await (await get('/debug/syncz')).json()) as typeof syncz;
    }
    expect(syncz!.controlPlane).toBe('cp-admin');
    const cds = syncz!.streams[0]!.types.find((t) => t.typeUrl === TYPE.cluster)!;
    expect(cds).toMatchObject({ state: 'NACKED', lastNack: { message: 'cluster a: unsupported' } });
    expect(syncz!.nacks).toHaveLength(1);
    const dump = (await (await get('/debug/config_dump?node=envoy-7')).json()) as {
      group: string;
      types: Array<{ resources: Array<{ name: string; config: { name: string } }> }>;
    };
    expect(dump.group).toBe('g');
    expect(dump.types[0]!.resources[0]!.config.name).toBe('a');
    s.close();
  });

  it('requires the bearer token on /debug/* when one is set', async () => {
    const { get } = await setup('s3cret');
    expect((await get('/debug/syncz')).status).toBe(401);
    expect((await get('/debug/syncz', 'Bearer wrong')).status).toBe(401);
    expect((await get('/debug/syncz', 'Bearer s3cret')).status).toBe(200);
    expect((await get('/healthz')).status).toBe(200);
  });
});
