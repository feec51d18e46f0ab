// The main job as a user runs it: `tsx scripts/start.ts` on a copy of the bank mesh (free ports),
// then the printed curl: POST /accounts through the accounts sidecar → 201 → event → the three
// subscribers log it, with the ssn redacted by the emitter.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { eventually } from './stack.js';
import { BANK_FILE } from '../xds-mesh/bank.js';

const root = new URL('../../', import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let dir = '';
let child: ChildProcess | undefined;
let out = '';
const ports: Record<string, number> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidecast-start-'));
  let mesh = await readFile(BANK_FILE, 'utf8');
  for (const p of [8081, 8082, 8083, 8084, 8090, 15006, 15001]) {
    ports[p] = await freePort();
    mesh = mesh.replaceAll(String(p), String(ports[p]));
  }
  await writeFile(join(dir, 'mesh.yaml'), mesh);
  child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: root,
    env: {
      ...process.env,
      SIDECAST_MESH: join(dir, 'mesh.yaml'),
      SIDECAST_XDS_GRPC: '127.0.0.1:0',
      SIDECAST_XDS_ADMIN: `127.0.0.1:${await freePort()}`,
      SIDECAST_ADMIN_PORT: '0',
      SIDECAST_GRPC_PORT: '0',
      SIDECAST_BROKER_URL: `embedded://${join(dir, 'broker')}`,
      SIDECAST_SPOOL_DIR: join(dir, 'spool'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  await eventually('npm start to print the curl', () => out.includes('curl -s -X POST'), 60_000);
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

test('POST /accounts through the accounts sidecar reaches notifications, audit and analytics', async () => {
  expect(out).toContain('subscriptions from xDS: analytics/bank-metrics');
  const res = await fetch(`http://127.0.0.1:${ports[15006]}/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ owner: 'Ada', ssn: '123-45-6789' }),
  });
  expect(res.status).toBe(201);
  const account = (await res.json()) as { id: string };
  for (const who of ['notifications', 'audit', 'analytics'])
    await eventually(`${who} logs the event`, () =>
      out.split('\n').some((l) => l.includes(`[${who}] received acme.bank.account.opened.v1 ${account.id}`)),
    );
  const line = out.split('\n').find((l) => l.includes('[audit] received'))!;
  expect(line).toContain('"ssn":"[redacted]"');
  expect(line).not.toContain('123-45-6789');
}, 60_000);
