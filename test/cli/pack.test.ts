// The package as users get it: `npm pack` (prepack compiles to dist/), the tarball installed into a
// fresh project without dev dependencies, then — from that install, not the source tree —
// `npx sidecast --help`, `sidecast validate` on a copy of the bank mesh, and a jest test of
// hello-headers.wasm written against `sidecast/testing`.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { fixture, ROOT } from './run-cli.js';

const run = promisify(execFile);
let dir = '';
let project = '';

async function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await run(cmd, args, {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      maxBuffer: 32 << 20,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidecast-pack-'));
  const packed = await sh('npm', ['pack', '--json', '--pack-destination', dir], ROOT);
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const [{ filename, files }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [
    { filename: string; files: Array<{ path: string }> },
  ];
  const shipped = files.map((f) => f.path);
  expect(shipped).toEqual(
    expect.arrayContaining([
      'dist/cli/main.js',
      'dist/test/host/index.js',
      'dist/test/host/index.d.ts',
      'dist/proto/sidecast/v1/subscription.proto',
      'build/event-emitter.wasm',
      'build/hello-headers.wasm',
    ]),
  );
  // Sources, tests and debug builds stay out.
  expect(
    shipped.filter((p) => /^(test|cli|xds-server|broker-bridge)\//.test(p) || p.endsWith('.debug.wasm')),
  ).toEqual([]);
  project = join(dir, 'app');
  await sh('mkdir', ['-p', project], dir);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module' }),
  );
  const installed = await sh(
    'npm',
    ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', join(dir, filename)],
    project,
  );
  if (installed.code !== 0) throw new Error(`npm install of the tarball failed:\n${installed.stderr}`);
}, 420_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the install has the runtime dependencies only', () => {
  expect(existsSync(join(project, 'node_modules/sidecast/dist/cli/main.js'))).toBe(true);
  expect(existsSync(join(project, 'node_modules/commander'))).toBe(true);
  for (const dev of ['jest', 'typescript', 'tsx', '@asyncapi/parser'])
    expect(`${dev}: ${existsSync(join(project, 'node_modules', dev))}`).toBe(`${dev}: false`);
});

test('npx sidecast --help and sidecast validate run from the installed package', async () => {
  const help = await sh('npx', ['--no', '--', 'sidecast', '--help'], project);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/Usage: sidecast/);
  expect(help.stdout).toMatch(/validate \[options\] <mesh>/);
  await copyFile(fixture('bank-mesh.yaml'), join(project, 'mesh.yaml'));
  const ok = await sh('npx', ['--no', '--', 'sidecast', 'validate', 'mesh.yaml'], project);
  expect(ok.stdout.trim()).toBe('✓ mesh.yaml: valid (4 services, 1 event routes, 3 subscriptions)');
  expect(ok.code).toBe(0);
  await copyFile(fixture('broken-mesh.yaml'), join(project, 'broken.yaml'));
  const bad = await sh('npx', ['--no', '--', 'sidecast', 'validate', 'broken.yaml'], project);
  expect(bad.code).toBe(1);
}, 120_000);

test('a jest test of hello-headers.wasm through sidecast/testing passes from the installed package', async () => {
  await writeFile(
    join(project, 'hello.test.mjs'),
    `import { createRequire } from 'node:module';
import { expect, test } from '@jest/globals';
import { ProxyWasmHost } from 'sidecast/testing';

test('hello-headers adds x-hello', async () => {
  const wasm = createRequire(import.meta.url).resolve('sidecast/wasm/hello-headers.wasm');
  expect(wasm).toContain('node_modules/sidecast/build/');
  const host = await ProxyWasmHost.load(wasm);
  const plugin = await host.createPlugin({ rootId: 'hello-headers', pluginConfig: 'hi' });
  const s = plugin.stream();
  s.requestHeaders({ ':method': 'GET', ':path': '/', ':authority': 'bank' }, { endOfStream: true });
  s.responseHeaders({ ':status': '200' }, { endOfStream: true });
  s.end();
  expect(s.downstream.headers?.get('x-hello')?.toString()).toBe('hi');
});
`,
  );
  // The repository's jest runs the file; every import resolves inside the temp project.
  const r = await sh(
    process.execPath,
    [
      join(ROOT, 'node_modules/jest/bin/jest.js'),
      '--rootDir',
      project,
      '--config',
      '{"transform":{}}',
      '--ci',
    ],
    project,
    { NODE_OPTIONS: '--experimental-vm-modules' },
  );
  expect(r.stderr).toMatch(/Tests:\s+1 passed, 1 total/);
  expect(r.code).toBe(0);
}, 120_000);
