// A data contract from the mesh file to the bridge, every hop real: EventRoute.event.dataSchema (a
// file next to the mesh) → xds-server → the emitter's `dataschema` attribute (RELEASE wasm in the
// test host) and a sidecast.v1.EventContract over delta ADS → the bridge checks data at ingest and,
// with policy deadLetter, sends a violating event to the contract's dead-letter topic.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { pino } from 'pino';
import { attachDelivery, type Delivery } from '../../../broker-bridge/delivery/index.js';
import { createBridge, defaultConfig, type Bridge } from '../../../broker-bridge/index.js';
import { startAccounts } from '../../../examples/bank/services/accounts.js';
import type { RunningService } from '../../../examples/bank/services/http-service.js';
import { startDemoSidecar, type DemoSidecar } from '../../../cli/start/demo-sidecar.js';
import { loadMesh } from '../../../xds-server/mesh/index.js';
import { startXdsServer, type RunningXdsServer } from '../../../xds-server/index.js';
import { eventually } from '../../e2e/stack.js';
import { HttpSubscriber } from '../http-subscriber.js';

const RELEASE_WASM = new URL('../../../build/event-emitter.wasm', import.meta.url).pathname;
const run = randomUUID().slice(0, 8);
const topic = `t${run}/bank/account/opened/v1`;

function mesh(auditPort: number, dlqPort: number): string {
  return [
    'apiVersion: sidecast.io/v1\nkind: Mesh\nmetadata: { name: contracts }\nspec:\n  source: "//bank.example"\n  emitter: { batch: { maxEvents: 1, flushInterval: 10ms } }\n',
    'apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: accounts }\nspec:\n  endpoints: ["127.0.0.1:1"]\n',
    `apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: audit }\nspec:\n  endpoints: ["127.0.0.1:${auditPort}"]\n`,
    `apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: dlqwatch }\nspec:\n  endpoints: ["127.0.0.1:${dlqPort}"]\n`,
    `apiVersion: sidecast.io/v1\nkind: EventRoute\nmetadata: { name: account-opened }\nspec:\n  service: accounts\n  match: { method: POST, path: /accounts, status: [201] }\n  event:\n    type: acme.bank.account.opened.v${run}\n    topic: ${topic}\n    data: { from: response_body, redact: [ssn] }\n    dataSchemaFile: schemas/account-opened.json\n    schemaPolicy: deadLetter\n`,
    `apiVersion: sidecast.io/v1\nkind: Subscription\nmetadata: { name: trail }\nspec:\n  service: audit\n  topics: ["${topic}"]\n  delivery: { path: /events }\n`,
    'apiVersion: sidecast.io/v1\nkind: Subscription\nmetadata: { name: schema-dlq }\nspec:\n  service: dlqwatch\n  topics: ["sidecast/deadletter/schema/>"]\n  delivery: { path: /dlq }\n',
  ].join('---\n');
}

describe('a data contract declared in the mesh, enforced by the bridge', () => {
  const audit = new HttpSubscriber(() => ({ status: 204 }));
  const dlqwatch = new HttpSubscriber(() => ({ status: 204 }));
  let dir = '';
  let xds: RunningXdsServer;
  let bridge: Bridge;
  let delivery: Delivery;
  let accounts: RunningService;
  let sidecar: DemoSidecar;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sidecast-contract-'));
    await Promise.all([audit.start(), dlqwatch.start()]);
    await rm(join(dir, 'schemas'), { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'schemas')));
    await writeFile(
      join(dir, 'schemas/account-opened.json'),
      JSON.stringify({
        type: 'object',
        required: ['id', 'owner'],
        properties: { id: { type: 'string' }, owner: { type: 'string', pattern: '^[A-Z]' } },
      }),
    );
    await writeFile(join(dir, 'mesh.yaml'), mesh(audit.port, dlqwatch.port));
    xds = await startXdsServer({
      mesh: join(dir, 'mesh.yaml'),
      grpcAddress: '127.0.0.1:0',
      adminAddress: null,
      logger: pino({ level: 'silent' }),
    });
    const cfg = defaultConfig(join(dir, 'bridge'));
    cfg.broker = { url: `embedded://${dir}/broker`, options: {} };
    cfg.http = { host: '127.0.0.1', port: 0 };
    cfg.grpc = null;
    cfg.admin = null;
    cfg.auth = { allowUnauthenticated: true, producers: [] };
    bridge = await createBridge(cfg, { logger: pino({ level: 'silent' }) });
    await bridge.start();
    delivery = await attachDelivery(bridge, {
      xds: { server: `127.0.0.1:${xds.grpcPort}`, nodeId: `sidecast-bridge-c${run}` },
    });
    await eventually(
      'two subscriptions consuming',
      () => delivery.status().subscriptions.filter((s) => s.state === 'running').length === 2,
    );
    await eventually('the contract from xDS', () => bridge.contracts.size === 1);
    accounts = await startAccounts(0, () => {});
    sidecar = await startDemoSidecar({
      service: 'accounts',
      port: 0,
      appUrl: accounts.url,
      bridgeUrl: `http://127.0.0.1:${bridge.ports.http}`,
      wasmFile: RELEASE_WASM,
      mesh: loadMesh(join(dir, 'mesh.yaml')),
    });
  }, 60_000);
  afterAll(async () => {
    await sidecar?.close();
    await accounts?.close();
    await bridge?.stop();
    await xds?.close();
    await Promise.all([audit.stop(), dlqwatch.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  const open = (owner: string) =>
    fetch(`${sidecar.url}/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ owner }),
    });

  test('a conforming event is delivered carrying the dataschema; a violating one goes to the dead-letter topic with the reason', async () => {
    expect((await open('Ada')).status).toBe(201);
    expect((await open('mallory')).status).toBe(201);
    await audit.waitFor(1);
    await dlqwatch.waitFor(1);
    const schemaId = audit.received[0]!.headers['ce-dataschema'];
    expect(schemaId).toMatch(/^urn:sidecast:schema:accounts\/account-opened:[0-9a-f]{16}$/);
    expect(JSON.parse(audit.received[0]!.body)).toMatchObject({ owner: 'Ada' });
    const dead = dlqwatch.received[0]!;
    expect(dead.headers).toMatchObject({
      'ce-dataschema': schemaId,
      'ce-topic': 'sidecast/deadletter/schema/accounts/account-opened',
      'ce-deadletterorigtopic': topic,
    });
    expect(decodeURIComponent(String(dead.headers['ce-deadletterreason']))).toMatch(
      /breaks the data contract of EventRoute accounts\/account-opened .*data\/owner: must match pattern "\^\[A-Z\]" \(pattern/,
    );
    expect(JSON.parse(dead.body)).toMatchObject({ owner: 'mallory' });
    // Only the conforming event reached the route's own topic.
    await new Promise((r) => setTimeout(r, 300));
    expect(audit.received).toHaveLength(1);
  });
});
