// The bank example end to end, every part real except Envoy itself: the xds-server on a copy of
// the bank mesh (test/fixtures/bank-mesh.yaml), a broker-bridge on NATS JetStream (a stream of its own, deleted
// afterwards) that takes its subscriptions from that xds-server, the accounts app behind a sidecar
// stand-in (the RELEASE event-emitter.wasm in the proxy-wasm test host, configured with the ECDS
// resource and routed to the bridge endpoint that the xds-server serves over delta ADS), and the
// three subscribers. A client opens an account; notifications, audit and analytics get one event
// with the client's trace and the account id; requests that must not emit emit nothing.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { pino } from 'pino';
import { createBridge, defaultConfig, type Bridge } from '../../broker-bridge/index.js';
import { attachDelivery, type Delivery } from '../../broker-bridge/delivery/index.js';
import { startAccounts } from '../../examples/bank/services/accounts.js';
import type { RunningService } from '../../examples/bank/services/http-service.js';
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import { startDemoSidecar, type DemoSidecar, type EmitterFilterConfig } from '../../cli/start/demo-sidecar.js';
import { startXdsServer, type RunningXdsServer } from '../../xds-server/index.js';
import { brokerReachable } from '../broker-bridge/broker-env.js';
import { HttpSubscriber, type Received } from '../broker-bridge/http-subscriber.js';
import { scratchStream } from '../broker-bridge/nats-scratch.js';
import { adsClient, deltaStream } from '../xds-server/ads-client.js';
import { BANK_FILE } from '../xds-mesh/bank.js';
import { eventually } from './stack.js';

const root = new URL('../../', import.meta.url).pathname;
const RELEASE_WASM = join(root, 'build/event-emitter.wasm');
const ECDS_NAME = 'sidecast.event-emitter.accounts';
const BRIDGE_CLUSTER = 'sidecast_bridge';
const EMITTED = 'sidecast.emitter.rule=account-opened.events_emitted';
/** The bank mesh's batch.flushInterval (100ms) with room for the bridge and delivery hops. */
const QUIET_MS = 500;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

interface FromTheWire {
  emitter: EmitterFilterConfig;
  bridgeUrl: string;
}

/**
 * What an Envoy sidecar of `accounts` gets from the xds-server over delta ADS: the emitter's ECDS
 * resource (TypedExtensionConfig → Wasm → PluginConfig → StringValue JSON) and the endpoint of
 * the `sidecast_bridge` cluster.
 */
async function fetchSidecarConfig(xdsPort: number): Promise<FromTheWire> {
  const client = adsClient(`127.0.0.1:${xdsPort}`);
  const s = deltaStream(client);
  try {
    s.send({
      node: {
        id: 'accounts-e2e',
        cluster: 'accounts',
        user_agent_name: 'envoy',
        metadata: { fields: { 'sidecast.service': { stringValue: 'accounts' } } },
      },
      type_url: TYPE.extensionConfig,
      resource_names_subscribe: [ECDS_NAME],
    });
    const ecds = await s.next();
    s.send({ type_url: ecds.type_url, response_nonce: ecds.nonce });
    const ext = ecds.resources.find((r) => r.name === ECDS_NAME);
    if (!ext) throw new Error(`xds-server sent no ECDS resource ${ECDS_NAME}`);
    const typed = envoyChecker().decode(
      TYPE.extensionConfig.split('/')[1]!,
      ext.resource.value,
      ECDS_NAME,
    ) as {
      typed_config: { '@type': string; config: EmitterFilterConfig };
    };
    expect(typed.typed_config['@type']).toBe(TYPE.wasm);

    s.send({ type_url: TYPE.endpoint, resource_names_subscribe: [BRIDGE_CLUSTER] });
    const eds = await s.next();
    s.send({ type_url: eds.type_url, response_nonce: eds.nonce });
    const cla = eds.resources.find((r) => r.name === BRIDGE_CLUSTER);
    if (!cla) throw new Error(`xds-server sent no endpoints for cluster ${BRIDGE_CLUSTER}`);
    const { endpoints } = envoyChecker().decode(
      TYPE.endpoint.split('/')[1]!,
      cla.resource.value,
      BRIDGE_CLUSTER,
    ) as {
      endpoints: Array<{
        lb_endpoints: Array<{
          endpoint: { address: { socket_address: { address: string; port_value: number } } };
        }>;
      }>;
    };
    const sa = endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address;
    return { emitter: typed.typed_config.config, bridgeUrl: `http://${sa.address}:${sa.port_value}` };
  } finally {
    s.close();
    client.close();
  }
}

const nats = await brokerReachable('NATS JetStream', 4222);

(nats ? describe : describe.skip)(
  'bank example end to end (sidecar stand-in → bridge → NATS → subscribers)',
  () => {
    const run = randomUUID().slice(0, 8);
    const scratch = scratchStream(`bank${run}`);
    const notifications = new HttpSubscriber(() => ({ status: 204 }));
    const audit = new HttpSubscriber(() => ({ status: 204 }));
    const analytics = new HttpSubscriber(() => ({ status: 204 }));
    const subscribers = { notifications, audit, analytics };
    const ports: Record<number, number> = {};
    let dir = '';
    let xds: RunningXdsServer;
    let bridge: Bridge;
    let delivery: Delivery;
    let accounts: RunningService;
    let sidecar: DemoSidecar;
    let wire: FromTheWire;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sidecast-bank-'));
      // The bank's fixed ports would clash with suites running in parallel: each gets a free one.
      let mesh = await readFile(BANK_FILE, 'utf8');
      for (const p of [8081, 8082, 8083, 8084, 8090, 15006, 15001]) {
        ports[p] = await freePort();
        mesh = mesh.replaceAll(String(p), String(ports[p]));
      }
      await writeFile(join(dir, 'mesh.yaml'), mesh);
      xds = await startXdsServer({
        mesh: join(dir, 'mesh.yaml'),
        grpcAddress: '127.0.0.1:0',
        adminAddress: null,
        logger: pino({ level: 'silent' }),
      });

      const cfg = defaultConfig(join(dir, 'bridge'));
      cfg.broker = { url: 'nats://127.0.0.1:4222', options: { nats: scratch.options } };
      cfg.http = { host: '127.0.0.1', port: ports[8090]! };
      cfg.grpc = null;
      cfg.admin = null;
      cfg.auth = { allowUnauthenticated: true, producers: [] };
      cfg.shutdownTimeoutMs = 2000;
      bridge = await createBridge(cfg, { logger: pino({ level: process.env.E2E_LOG ?? 'silent' }) });
      await bridge.start();
      delivery = await attachDelivery(bridge, {
        xds: { server: `127.0.0.1:${xds.grpcPort}`, nodeId: `sidecast-bridge-bank-${run}` },
      });

      await notifications.start(ports[8082]);
      await audit.start(ports[8083]);
      await analytics.start(ports[8084]);
      accounts = await startAccounts(ports[8081]!, () => {});
      wire = await fetchSidecarConfig(xds.grpcPort);
      sidecar = await startDemoSidecar({
        service: 'accounts',
        port: ports[15006]!,
        appUrl: accounts.url,
        bridgeUrl: wire.bridgeUrl,
        wasmFile: RELEASE_WASM,
        emitter: wire.emitter,
      });
      await eventually(
        'the bridge consuming for the three bank subscriptions',
        () => delivery.status().subscriptions.filter((s) => s.state === 'running').length === 3,
      );
    }, 60_000);

    afterAll(async () => {
      await sidecar?.close();
      await accounts?.close();
      await bridge?.stop();
      await xds?.close();
      await Promise.all(Object.values(subscribers).map((s) => s.stop()));
      await scratch.remove();
      await rm(dir, { recursive: true, force: true });
    });

    const traceparent = `00-${randomUUID().replaceAll('-', '')}-${randomUUID().replaceAll('-', '').slice(0, 16)}-01`;
    const key = `open-${run}`;
    const ada = JSON.stringify({ owner: 'Ada', ssn: '123-45-6789' });
    let opened: { id: string; owner: string };
    const subjects = (s: HttpSubscriber) => s.received.map((r) => String(r.headers['ce-subject']));
    const deliveredFor = (s: HttpSubscriber, subject: string): Received[] =>
      s.received.filter((r) => r.headers['ce-subject'] === subject);
    const openAccount = (body: string, headers: Record<string, string>) =>
      fetch(`${sidecar.url}/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });

    test('the sidecar stand-in runs the emitter config the xds-server serves for accounts', () => {
      expect(wire.bridgeUrl).toBe(`http://127.0.0.1:${ports[8090]}`);
      expect(wire.emitter).toMatchObject({
        root_id: 'event-emitter',
        vm_config: { vm_id: 'sidecast.event-emitter' },
      });
      const json = JSON.parse(wire.emitter.configuration.value) as { rules: Array<{ name: string }> };
      expect(json.rules.map((r) => r.name)).toEqual(['account-opened']);
    });

    test('POST /accounts → 201 reaches notifications, audit and analytics as one event in binary mode', async () => {
      const res = await openAccount(ada, { traceparent, 'idempotency-key': key });
      expect(res.status).toBe(201);
      opened = (await res.json()) as typeof opened;
      for (const s of Object.values(subscribers)) await s.waitFor(1);

      const first = Object.values(subscribers).map((s) => s.received[0]!);
      expect(new Set(first.map((r) => r.headers['ce-id'])).size).toBe(1);
      for (const r of first) {
        expect(r.headers).toMatchObject({
          'ce-specversion': '1.0',
          'ce-type': 'acme.bank.account.opened.v1',
          'ce-topic': 'acme/bank/account/opened/v1',
          'ce-traceparent': traceparent,
          'ce-subject': opened.id,
          'ce-partitionkey': opened.id,
          'content-type': 'application/json',
        });
        expect(String(r.headers['ce-source'])).toMatch(/^\/\/bank\.example/);
        const data = JSON.parse(r.body) as Record<string, unknown>;
        expect(data).toMatchObject({ id: opened.id, owner: 'Ada', ssn: '[redacted]' });
        expect(r.body).not.toContain('123-45-6789');
      }
    });

    test('a GET and a POST answered 409 emit nothing: the next delivery is the marker sent after them', async () => {
      expect((await fetch(`${sidecar.url}/accounts/x`)).status).toBe(404);
      const conflict = await openAccount(JSON.stringify({ owner: 'Mallory' }), { 'idempotency-key': key });
      expect(conflict.status).toBe(409);
      const marker = await openAccount(JSON.stringify({ owner: 'Marker' }), {
        'idempotency-key': `marker-${run}`,
      });
      expect(marker.status).toBe(201);
      const { id: markerId } = (await marker.json()) as { id: string };
      for (const s of Object.values(subscribers))
        await eventually('the marker', () => subjects(s).includes(markerId));
      await new Promise((r) => setTimeout(r, QUIET_MS));
      for (const s of Object.values(subscribers)) expect(subjects(s)).toEqual([opened.id, markerId]);
      // Delivered downstream does not mean the bridge's answer has reached the filter yet.
      await eventually('the emitter counted 2 events emitted', () => sidecar.metric(EMITTED) === 2);
    });

    test('a retried POST with the same Idempotency-Key gets the same account, and its event the same id', async () => {
      const firstId = notifications.received[0]!.headers['ce-id'];
      const accepted = async () =>
        (await bridge.metrics.registry.getSingleMetric('sidecast_bridge_events_accepted_total')!.get())
          .values[0]!.value;
      const acceptedBefore = await accepted();
      const retry = await openAccount(ada, { traceparent, 'idempotency-key': key });
      expect(retry.status).toBe(201);
      expect(((await retry.json()) as { id: string }).id).toBe(opened.id);
      // The emitter sent the retried event and the bridge took it (NATS may drop it as a duplicate id).
      await eventually(
        'the retried event accepted by the bridge',
        async () => (await accepted()) > acceptedBefore,
      );
      // The emitter counts an event when the bridge's reply reaches it, just after the bridge counted it.
      await eventually('the emitter counting the retried event', () => sidecar.metric(EMITTED) === 3);
      // A last marker: whatever the retry caused has been delivered once the marker has.
      const marker = await openAccount(JSON.stringify({ owner: 'Marker 2' }), {});
      const { id: markerId } = (await marker.json()) as { id: string };
      for (const s of Object.values(subscribers)) {
        await eventually('the second marker', () => subjects(s).includes(markerId));
        const forAccount = deliveredFor(s, opened.id);
        expect(forAccount.length).toBeGreaterThanOrEqual(1);
        expect(new Set(forAccount.map((r) => r.headers['ce-id']))).toEqual(new Set([firstId]));
      }
    });
  },
);
