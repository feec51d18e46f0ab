// Real Envoy (official image) with envoy-configs/sidecar-bootstrap.yaml: every listener, route,
// cluster, endpoint and the event-emitter itself (ECDS) come from sidecast's xds-server over delta
// ADS. Then an EventRoute edit in the mesh file changes which route emits while a load loop keeps
// calling through Envoy: the switch is one ECDS update, and no request fails.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { pino } from 'pino';
import type { StartedTestContainer } from 'testcontainers';
import { startAccounts } from '../../examples/bank/services/accounts.js';
import type { RunningService } from '../../examples/bank/services/http-service.js';
import { TYPE } from '../../proto/envoy.js';
import type { AckEvent, NackEvent } from '../../xds-server/server/stream.js';
import { startXdsServer, type RunningXdsServer } from '../../xds-server/index.js';
import { eventually } from '../e2e/stack.js';
import { containerRuntimeFor } from './container-runtime.js';
import {
  envoyConfig,
  envoyLogs,
  envoyStats,
  HOST_FROM_CONTAINER,
  startEnvoy,
  startEventSink,
  urlOf,
  type EventSink,
} from './envoy-harness.js';

const INBOUND = 15006; // the xds-server's sidecast_inbound listener (Service sidecar default)
const QUIET_MS = 500; // the emitter's 100 ms flush interval plus the bridge and delivery hops
const NODE = 'accounts-0'; // sidecar-bootstrap.yaml's node

const OPENED_ROUTE = `
  match: { method: POST, path: /accounts, status: [201] }
  event:
    type: acme.bank.account.opened.v1
    topic: acme/bank/account/opened/v1
    subject: '{response.body.id}'
    data: { from: response_body, redact: [ssn] }`;
const HEALTH_ROUTE = `
  match: { method: GET, path: /healthz, status: [200] }
  event:
    type: acme.bank.health.checked.v1
    topic: acme/bank/health/checked/v1
    subject: '{request.header.x-probe}'`;

/**
 * The bank's accounts service as seen from the container: its app and the bridge on this host.
 * `calls: [notifications]` (a literal IP endpoint) gives the sidecar an EDS cluster, so all five
 * resource types flow; the container never calls it.
 */
function meshYaml(p: { bridge: number; app: number; subscriber: number }, route: string): string {
  return `apiVersion: sidecast.io/v1
kind: Mesh
metadata: { name: bank }
spec:
  bridge: { address: ${HOST_FROM_CONTAINER}, port: ${p.bridge} }
  source: '//bank.example'
  emitter:
    wasmFile: /etc/sidecast/event-emitter.wasm
    batch: { maxEvents: 64, flushInterval: 100ms }
---
apiVersion: sidecast.io/v1
kind: Service
metadata: { name: accounts }
spec:
  endpoints: ['${HOST_FROM_CONTAINER}:${p.app}']
  calls: [notifications]
---
apiVersion: sidecast.io/v1
kind: Service
metadata: { name: notifications }
spec:
  endpoints: ['127.0.0.1:${p.subscriber}']
---
apiVersion: sidecast.io/v1
kind: EventRoute
metadata: { name: emits }
spec:
  service: accounts${route}
---
apiVersion: sidecast.io/v1
kind: Subscription
metadata: { name: everything }
spec:
  service: notifications
  topics: ['acme/bank/>']
  delivery: { path: /events, timeout: 2s }
`;
}

const runtime = await containerRuntimeFor('real-Envoy xDS suite (envoy-xds.test.ts)');

(runtime ? describe : describe.skip)('Envoy configured by the xds-server (sidecar-bootstrap.yaml)', () => {
  let dir = '';
  let meshFile = '';
  let ports: { bridge: number; app: number; subscriber: number };
  let accounts: RunningService;
  let sink: EventSink;
  let xds: RunningXdsServer;
  let envoy: StartedTestContainer;
  let through = '';
  const acks: AckEvent[] = [];
  const nacks: NackEvent[] = [];
  const received = (type: string) =>
    sink.subscriber.received
      .filter((r) => r.headers['ce-type'] === type)
      .map((r) => String(r.headers['ce-subject']));
  const openAccount = async (owner: string): Promise<Response> =>
    fetch(`${through}/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ owner, ssn: '123-45-6789' }),
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sidecast-envoy-xds-'));
    meshFile = join(dir, 'mesh.yaml');
    accounts = await startAccounts(0, () => {});
    sink = await startEventSink();
    ports = {
      bridge: sink.ingestPort,
      app: Number(new URL(accounts.url).port),
      subscriber: sink.subscriber.port,
    };
    await writeFile(meshFile, meshYaml(ports, OPENED_ROUTE));
    xds = await startXdsServer({
      mesh: meshFile,
      grpcAddress: '127.0.0.1:0',
      adminAddress: null,
      debounceMs: 20,
      logger: pino({ level: 'silent' }),
    });
    xds.server.events.on('ack', (e: AckEvent) => acks.push(e));
    xds.server.events.on('nack', (e: NackEvent) => nacks.push(e));
    const delivery = await sink.attach({
      xds: { server: `127.0.0.1:${xds.grpcPort}`, nodeId: 'sidecast-bridge-envoy' },
    });
    await eventually('the bridge consuming notifications/everything', () =>
      delivery
        .status()
        .subscriptions.some((s) => s.name === 'notifications/everything' && s.state === 'running'),
    );

    const config = envoyConfig('sidecar-bootstrap.yaml');
    const xdsCluster = config.static_resources.clusters.find(
      (c: { name: string }) => c.name === 'sidecast_xds',
    );
    xdsCluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address = {
      address: HOST_FROM_CONTAINER,
      port_value: xds.grpcPort,
    };
    envoy = await startEnvoy({
      config,
      listenerPorts: [INBOUND],
      hostPorts: [xds.grpcPort, ports.app, ports.bridge],
    });
    through = urlOf(envoy, INBOUND);
  }, 300_000);

  afterAll(async () => {
    await envoy?.stop();
    await xds?.close();
    await sink?.stop();
    await accounts?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('Envoy ACKs listeners, routes, clusters, endpoints and the ECDS emitter; POST /accounts emits', async () => {
    const wanted = [TYPE.listener, TYPE.route, TYPE.cluster, TYPE.endpoint, TYPE.extensionConfig];
    await eventually('Envoy to ACK all five resource types', () =>
      wanted.every((t) => acks.some((a) => a.nodeId === NODE && a.typeUrl === t)),
    );
    expect(nacks).toEqual([]);
    const res = await openAccount('Ada');
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await eventually(
      'the event at the subscriber',
      () => received('acme.bank.account.opened.v1').includes(id),
      30_000,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}\nEnvoy log:\n${await envoyLogs(envoy)}`);
    });
    const ev = sink.subscriber.received.find((r) => r.headers['ce-subject'] === id)!;
    expect(JSON.parse(ev.body)).toMatchObject({ id, owner: 'Ada', ssn: '[redacted]' });
  });

  test('an EventRoute edit switches the emitting route by ECDS while traffic flows, with no failed request', async () => {
    const failures: string[] = [];
    let done = 0;
    let running = true;
    const loop = async (call: () => Promise<Response>, expected: number) => {
      while (running) {
        try {
          const res = await call();
          await res.arrayBuffer();
          if (res.status !== expected) failures.push(`HTTP ${res.status} (expected ${expected})`);
        } catch (e) {
          failures.push((e as Error).message);
        }
        done++;
      }
    };
    const loops = [
      loop(() => openAccount('Load'), 201),
      loop(() => fetch(`${through}/healthz`, { headers: { 'x-probe': 'load' } }), 200),
    ];
    await eventually('load flowing', () => done >= 20);
    const ecdsAcksBefore = acks.filter((a) => a.typeUrl === TYPE.extensionConfig).length;
    const ldsAcksBefore = acks.filter((a) => a.typeUrl === TYPE.listener).length;
    await writeFile(meshFile, meshYaml(ports, HEALTH_ROUTE));
    await eventually(
      'a health event after the edit',
      () => received('acme.bank.health.checked.v1').length > 0,
      30_000,
    );
    const doneAtSwitch = done;
    await eventually('more load after the switch', () => done >= doneAtSwitch + 20);
    running = false;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    // The edit reached Envoy as an ECDS update alone: no listener was re-sent (nothing drained).
    expect(acks.filter((a) => a.typeUrl === TYPE.extensionConfig).length).toBeGreaterThan(ecdsAcksBefore);
    expect(acks.filter((a) => a.typeUrl === TYPE.listener).length).toBe(ldsAcksBefore);
    expect(nacks).toEqual([]);

    // Now POST /accounts no longer emits: none of these accounts shows up before the marker does.
    const ids: string[] = [];
    for (const owner of ['After1', 'After2', 'After3'])
      ids.push(((await (await openAccount(owner)).json()) as { id: string }).id);
    await fetch(`${through}/healthz`, { headers: { 'x-probe': 'marker' } });
    await eventually('the marker', () => received('acme.bank.health.checked.v1').includes('marker'));
    await new Promise((r) => setTimeout(r, QUIET_MS));
    const opened = received('acme.bank.account.opened.v1');
    expect(ids.filter((id) => opened.includes(id))).toEqual([]);
    console.log(
      `envoy-xds: ${done} requests through Envoy during the ECDS switch, 0 failed; Envoy ECDS stats ${JSON.stringify(
        await envoyStats(envoy, 'extension_config_discovery'),
      )}`,
    );
  });
});
