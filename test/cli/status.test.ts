// `sidecast status` against a real xds-server (in-process, bank fixture) with a real broker-bridge
// connected to it over delta ADS: the bridge's node shows its Subscription type SYNCED at the
// served version; a wrong token, a missing token and an unreachable server each fail in one line.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import pino from 'pino';
import { attachDelivery } from '../../broker-bridge/delivery/index.js';
import { createBridge, defaultConfig, type Bridge } from '../../broker-bridge/index.js';
import { startXdsServer, type RunningXdsServer } from '../../xds-server/index.js';
import { eventually } from '../e2e/stack.js';
import { fixture, sidecast } from './run-cli.js';

let xds: RunningXdsServer;
let bridge: Bridge;
let dir = '';
const TOKEN = 'status-test-token-0123456789';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidecast-status-'));
  xds = await startXdsServer({
    mesh: fixture('bank-mesh.yaml'),
    grpcAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    adminToken: TOKEN,
    logger: pino({ level: 'silent' }),
  });
  const config = defaultConfig(dir);
  config.http.port = 0;
  config.grpc = null;
  config.admin = null;
  bridge = await createBridge(config, { logger: pino({ level: 'silent' }) });
  await bridge.start();
  await attachDelivery(bridge, {
    xds: { server: `127.0.0.1:${xds.grpcPort}`, nodeId: 'status-test-bridge' },
  });
}, 30_000);

afterAll(async () => {
  await bridge?.stop();
  await xds?.close();
  await rm(dir, { recursive: true, force: true });
});

test('a table row per node and type: the bridge SYNCED on its Subscription resources', async () => {
  const admin = `http://127.0.0.1:${xds.adminPort}`;
  let out = '';
  await eventually('the bridge ACKs', async () => {
    const r = await sidecast(['status', '--xds', admin, '--token', TOKEN]);
    out = r.stdout;
    return r.code === 0 && /status-test-bridge .*Subscription\s+SYNCED/.test(out);
  });
  const [head, ...rows] = out.trim().split('\n');
  expect(head).toMatch(/^NODE\s+GROUP\s+TYPE\s+STATE\s+SENT\s+ACKED\s+LAST NACK$/);
  const row = rows.find((l) => l.startsWith('status-test-bridge'))!.split(/\s+/);
  expect(row.slice(0, 4)).toEqual(['status-test-bridge', 'sidecast-bridge', 'Subscription', 'SYNCED']);
  expect(row[4]).toBe(row[5]); // sent version = ACKed version
  const json = await sidecast(['status', '--xds', admin, '--token', TOKEN, '--format', 'json']);
  expect(JSON.parse(json.stdout).streams[0].nodeId).toBe('status-test-bridge');
}, 180_000);

test('no token, an unreachable server, a bad URL: one line each, exit 3 / 3 / 2', async () => {
  const noToken = await sidecast(['status', '--xds', `http://127.0.0.1:${xds.adminPort}`], {
    env: { SIDECAST_ADMIN_TOKEN: '' },
  });
  expect(noToken.code).toBe(3);
  expect(noToken.stderr.trim()).toBe(
    `sidecast status: the xds-server at http://127.0.0.1:${xds.adminPort} wants its admin token: give --token (or SIDECAST_ADMIN_TOKEN)`,
  );
  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const down = await sidecast(['status', '--xds', `http://127.0.0.1:${closed}`]);
  expect(down.code).toBe(3);
  expect(down.stderr.trim().split('\n')).toEqual([
    `sidecast status: cannot reach the xds-server at http://127.0.0.1:${closed}: ECONNREFUSED (is it running? give its admin address)`,
  ]);
  const bad = await sidecast(['status', '--xds', 'not a url']);
  expect(bad.code).toBe(2);
}, 180_000);
