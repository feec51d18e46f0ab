// The main job as a user runs it: `npm start` (npm → sh → `sidecast start`) on a copy of the bank
// mesh with free ports. The printed curl works end to end (POST /accounts through the accounts
// sidecar → 201 → event → the three subscribers log it, ssn redacted); mesh edits print one line
// each; and SIGTERM or SIGINT sent to npm's own PID — what `docker stop`, systemd and Ctrl-C do —
// stops every process of the tree and leaves no port listening.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, test } from '@jest/globals';
import { eventually } from './stack.js';

const root = new URL('../../', import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Resolves true if something accepts a TCP connection on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Every process id below `pid` (from /proc), so the test can tell none outlived the stop. */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent !== p) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Started {
  child: ChildProcess;
  out: () => string;
  meshFile: string;
  ports: number[];
  sidecarPort: number;
}

const dirs: string[] = [];
const children: ChildProcess[] = [];

async function npmStart(): Promise<Started> {
  const dir = await mkdtemp(join(tmpdir(), 'sidecast-start-'));
  dirs.push(dir);
  let mesh = await readFile(join(root, 'test/cli/fixtures/bank-mesh.yaml'), 'utf8');
  const mapped: Record<number, number> = {};
  for (const p of [8081, 8082, 8083, 8084, 8090, 15006, 15001]) {
    mapped[p] = await freePort();
    mesh = mesh.replaceAll(String(p), String(mapped[p]));
  }
  const meshFile = join(dir, 'mesh.yaml');
  await writeFile(meshFile, mesh);
  const xdsGrpc = await freePort();
  const xdsAdmin = await freePort();
  const bridgeAdmin = await freePort();
  const bridgeGrpc = await freePort();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: root,
    env: {
      ...process.env,
      SIDECAST_MESH: meshFile,
      SIDECAST_XDS_GRPC: `127.0.0.1:${xdsGrpc}`,
      SIDECAST_XDS_ADMIN: `127.0.0.1:${xdsAdmin}`,
      SIDECAST_ADMIN_PORT: String(bridgeAdmin),
      SIDECAST_GRPC_PORT: String(bridgeGrpc),
      SIDECAST_BROKER_URL: `embedded://${join(dir, 'broker')}`,
      SIDECAST_SPOOL_DIR: join(dir, 'spool'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  await eventually(
    'npm start to print the curl',
    () => out.includes('curl -s -X POST') || child.exitCode !== null,
    90_000,
  );
  if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${out}`);
  return {
    child,
    out: () => out,
    meshFile,
    ports: [
      ...Object.values(mapped).filter((p) => p !== mapped[15001]),
      xdsGrpc,
      xdsAdmin,
      bridgeAdmin,
      bridgeGrpc,
    ],
    sidecarPort: mapped[15006]!,
  };
}

/** Sends `signal` to npm's PID only and waits for the whole tree to end; returns npm's exit code. */
async function stopWith(
  s: Started,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; orphans: number[] }> {
  const tree = await descendants(s.child.pid!);
  expect(tree.length).toBeGreaterThan(0);
  const exited = new Promise<number | null>((r) => s.child.once('exit', (code) => r(code)));
  s.child.kill(signal);
  const code = await exited;
  await eventually('every process of npm start to end', () => tree.every((p) => !alive(p)), 20_000).catch(
    () => undefined,
  );
  return { code, orphans: tree.filter(alive) };
}

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    for (const p of await descendants(c.pid!)) if (alive(p)) process.kill(p, 'SIGKILL');
    c.kill('SIGKILL');
  }
});

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('npm start: POST /accounts reaches notifications, audit and analytics; each mesh edit prints one line; SIGTERM to npm stops everything', async () => {
  const s = await npmStart();
  expect(s.out()).toContain('subscriptions from xDS: analytics/bank-metrics');
  const res = await fetch(`http://127.0.0.1:${s.sidecarPort}/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ owner: 'Ada', ssn: '123-45-6789' }),
  });
  expect(res.status).toBe(201);
  const account = (await res.json()) as { id: string };
  for (const who of ['notifications', 'audit', 'analytics'])
    await eventually(`${who} logs the event`, () =>
      s
        .out()
        .split('\n')
        .some((l) => l.includes(`[${who}] received acme.bank.account.opened.v1 ${account.id}`)),
    );
  const line = s
    .out()
    .split('\n')
    .find((l) => l.includes('[audit] received'))!;
  expect(line).toContain('"ssn":"[redacted]"');
  expect(line).not.toContain('123-45-6789');

  // A good edit (drop analytics' subscription) and a broken one: one line each.
  const good = (await readFile(s.meshFile, 'utf8')).replace(
    /\n---\n[^]*?name: bank-metrics[^]*?(?=\n---\n|$)/,
    '',
  );
  await writeFile(s.meshFile, good);
  await eventually('the applied line', () => /mesh edit applied: version [0-9a-f]+/.test(s.out()));
  await writeFile(
    s.meshFile,
    `${good}\n---\nkind: Subscription\nmetadata: { name: broken }\nspec: { service: nobody }\n`,
  );
  await eventually('the refused line', () => s.out().includes('mesh edit refused'));
  const refused = s
    .out()
    .split('\n')
    .filter((l) => l.includes('mesh edit refused'));
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatch(/mesh\.yaml:\d+.*still serving version [0-9a-f]+/);

  const { code, orphans } = await stopWith(s, 'SIGTERM');
  expect(orphans).toEqual([]);
  expect(code).toBe(0);
  for (const p of s.ports) expect(`${p}: ${await listening(p)}`).toBe(`${p}: false`);
}, 150_000);

test('npm start: SIGINT to npm stops every process and frees every port', async () => {
  const s = await npmStart();
  for (const p of s.ports) expect(`${p}: ${await listening(p)}`).toBe(`${p}: true`);
  const { orphans } = await stopWith(s, 'SIGINT');
  expect(orphans).toEqual([]);
  for (const p of s.ports) expect(`${p}: ${await listening(p)}`).toBe(`${p}: false`);
}, 120_000);
