// An Envoy-like delta ADS client for a sidecar of the bank's `accounts` service, against the mesh
// YAML through startXdsServer: it gets clusters, endpoints, listeners, routes and the emitter's
// ECDS config; an EventRoute edit then reaches it as one ECDS update and nothing else
// (no listener or cluster churn, so Envoy drains nothing).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import { startXdsServer, type RunningXdsServer } from '../../xds-server/index.js';
import { adsClient, deltaStream, type DeltaResponseMsg, type DeltaStream } from './ads-client.js';

const mesh = (topic: string) => `
apiVersion: sidecast.io/v1
kind: Service
metadata: { name: accounts }
spec:
  endpoints: ["127.0.0.1:8081"]
  sidecar: { inboundPort: 15006 }
---
apiVersion: sidecast.io/v1
kind: EventRoute
metadata: { name: account-opened }
spec:
  service: accounts
  match: { method: POST, path: /accounts, status: [201] }
  event: { type: acme.bank.account.opened.v1, topic: ${topic} }
`;

let dir: string;
let xds: RunningXdsServer;
let s: DeltaStream;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sidecast-envoy-'));
  writeFileSync(join(dir, 'mesh.yaml'), mesh('acme/bank/account/opened/v1'));
  xds = await startXdsServer({
    mesh: join(dir, 'mesh.yaml'),
    grpcAddress: '127.0.0.1:0',
    adminAddress: null,
    debounceMs: 20,
    logger: pino({ level: 'silent' }),
  });
  s = deltaStream(adsClient(`127.0.0.1:${xds.grpcPort}`));
});
afterAll(async () => {
  s?.close();
  await xds?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface ConfigDiscovery {
  apply_default_config_without_warming?: boolean;
  config_source: { initial_fetch_timeout?: string };
  default_config?: unknown;
}

const ack = (r: DeltaResponseMsg) => s.send({ type_url: r.type_url, response_nonce: r.nonce });
async function expectType(type: string): Promise<DeltaResponseMsg> {
  const r = await s.next();
  expect(r.type_url).toBe(type);
  ack(r);
  return r;
}

describe('Envoy sidecar over delta ADS, from the mesh YAML', () => {
  let ecdsName = '';

  it('gets its clusters, endpoints, listeners, routes and ECDS emitter config', async () => {
    s.send({
      node: { id: 'accounts-1', cluster: 'accounts', user_agent_name: 'envoy' },
      type_url: TYPE.cluster,
    });
    const cds = await expectType(TYPE.cluster);
    const clusters = cds.resources.map((r) => r.name);
    expect(clusters).toEqual(expect.arrayContaining(['sidecast_bridge', 'inbound|accounts']));
    s.send({ type_url: TYPE.endpoint, resource_names_subscribe: clusters });
    expect((await expectType(TYPE.endpoint)).resources.length).toBeGreaterThan(0);
    s.send({ type_url: TYPE.listener });
    const lds = await expectType(TYPE.listener);
    expect(lds.resources.map((r) => r.name)).toContain('sidecast_inbound');
    s.send({ type_url: TYPE.route, resource_names_subscribe: ['sidecast_inbound'] });
    await expectType(TYPE.route);

    // ECDS warming (docs/envoy-istio.md, failure policy): the inbound listener waits for the
    // emitter config (no apply_default_config_without_warming), at most initial_fetch_timeout, and
    // the name it waits for is served from the same snapshot — so warming ends with this push.
    const inbound = lds.resources.find((r) => r.name === 'sidecast_inbound')!;
    const listener = envoyChecker().decode(TYPE.listener, inbound.resource.value, 'lds') as {
      filter_chains: Array<{
        filters: Array<{
          typed_config: { http_filters: Array<{ name: string; config_discovery?: ConfigDiscovery }> };
        }>;
      }>;
    };
    const filter = listener.filter_chains[0]!.filters[0]!.typed_config.http_filters.find(
      (f) => f.config_discovery,
    )!;
    expect(filter.config_discovery!.apply_default_config_without_warming).toBeUndefined();
    expect(filter.config_discovery!.config_source.initial_fetch_timeout).toBe('10s');
    expect(filter.config_discovery!.default_config).toBeDefined();
    ecdsName = filter.name;
    expect(ecdsName).toBe('sidecast.event-emitter.accounts');
    s.send({ type_url: TYPE.extensionConfig, resource_names_subscribe: [ecdsName] });
    const ecds = await expectType(TYPE.extensionConfig);
    expect(ecds.removed_resources).toEqual([]);
    const config = envoyChecker().decode(TYPE.extensionConfig, ecds.resources[0]!.resource.value, 'ecds');
    expect(JSON.stringify(config)).toContain('acme/bank/account/opened/v1');
  });

  it('an EventRoute edit is one ECDS update and nothing else', async () => {
    writeFileSync(join(dir, 'mesh.yaml'), mesh('acme/bank/account/created/v2'));
    const update = await expectType(TYPE.extensionConfig);
    expect(update.resources.map((r) => r.name)).toEqual([ecdsName]);
    expect(
      JSON.stringify(
        envoyChecker().decode(TYPE.extensionConfig, update.resources[0]!.resource.value, 'ecds'),
      ),
    ).toContain('acme/bank/account/created/v2');
    // Round trip: a missing route name is answered at once as removed; nothing else came first.
    s.send({ type_url: TYPE.route, resource_names_subscribe: ['no-such-route'] });
    const barrier = await s.next();
    expect(barrier).toMatchObject({ type_url: TYPE.route, removed_resources: ['no-such-route'] });
  });
});
