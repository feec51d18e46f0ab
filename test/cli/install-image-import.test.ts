// The chassis commands as a user runs them: `sidecast install` prints schema-checked manifests,
// `sidecast image push` pushes the reproducible filter image to the real local registry and prints
// the digest a WasmPlugin pins, `sidecast import openapi` prints EventRoutes that load as a mesh.
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { wasmImage } from '../../deploy/oci/wasm-image.js';
import { loadMesh } from '../../xds-server/mesh/index.js';
import { ROOT, sidecast } from './run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'sidecast-cli-chassis-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('sidecast install', () => {
  test('prints the istio install: CRDs, one bridge replica, the namespace asked for', async () => {
    const r = await sidecast([
      'install',
      '--mode',
      'istio',
      '--namespace',
      'events',
      '--wasm-image',
      `oci://r.example/e@sha256:${'b'.repeat(64)}`,
    ]);
    expect(r.code).toBe(0);
    const objects = parseAllDocuments(r.stdout).map(
      (d) =>
        d.toJSON() as {
          kind: string;
          metadata: { name: string; namespace?: string };
          spec?: { replicas?: number };
        },
    );
    const kinds = new Set(objects.map((o) => o.kind));
    for (const k of [
      'Namespace',
      'CustomResourceDefinition',
      'Deployment',
      'StatefulSet',
      'PeerAuthentication',
      'AuthorizationPolicy',
    ])
      expect(kinds).toContain(k);
    const bridge = objects.find((o) => o.kind === 'StatefulSet')!;
    expect(bridge.metadata.namespace).toBe('events');
    expect(bridge.spec?.replicas).toBe(1);
  }, 120_000);

  test('a bad flag value: exit 2, one line naming the flag', async () => {
    const r = await sidecast(['install', '--mode', 'kubernetes']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'sidecast install: --mode must be envoy or istio, got "kubernetes"',
    ]);
  }, 120_000);
});

describe('sidecast image push', () => {
  test('pushes to the local registry and prints the digest of the reproducible image', async () => {
    const up = await reachable(5000);
    if (!up && process.env.CI)
      throw new Error('local registry 127.0.0.1:5000 is down: run scripts/ensure-services.sh');
    if (!up)
      return console.log(
        'image push: skipped, no local registry on :5000 (scripts/ensure-services.sh starts it)',
      );
    const ref = `127.0.0.1:5000/sidecast-test/cli-${process.pid}:v1`;
    const r = await sidecast(['image', 'push', '--plain-http', '--username', 'sidecast', ref], {
      env: { SIDECAST_REGISTRY_PASSWORD: 'sidecast-test' },
    });
    expect(r.code).toBe(0);
    const expected = wasmImage(readFileSync(join(ROOT, 'build/event-emitter.wasm')), 'oci').manifest.digest;
    expect(r.stdout).toContain(`digest: ${expected}`);
    expect(r.stdout).toContain(`url:    oci://127.0.0.1:5000/sidecast-test/cli-${process.pid}@${expected}`);
  }, 120_000);

  test('wrong password: exit 3 with the registry’s refusal; missing module: exit 1', async () => {
    const up = await reachable(5000);
    if (!up && process.env.CI)
      throw new Error('local registry 127.0.0.1:5000 is down: run scripts/ensure-services.sh');
    if (!up) return console.log('image push: skipped, no local registry on :5000');
    const bad = await sidecast(
      [
        'image',
        'push',
        '--plain-http',
        '--username',
        'sidecast',
        `127.0.0.1:5000/sidecast-test/cli-${process.pid}:bad`,
      ],
      {
        env: { SIDECAST_REGISTRY_PASSWORD: 'wrong' },
      },
    );
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/refused|401|unauthorized/i);
    const missing = await sidecast([
      'image',
      'push',
      '--wasm',
      join(tmp, 'nope.wasm'),
      '127.0.0.1:5000/x/y:z',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.wasm');
  }, 120_000);
});

describe('sidecast import openapi', () => {
  test('prints EventRoutes that load as a mesh next to their Service', async () => {
    const spec = join(ROOT, 'test/annotations/fixtures/bank-accounts.openapi.yaml');
    const r = await sidecast(['import', 'openapi', spec, '--service', 'accounts']);
    expect(r.code).toBe(0);
    const service =
      'apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: accounts }\nspec: { endpoints: ["127.0.0.1:8081"] }\n';
    const file = join(tmp, 'imported.yaml');
    writeFileSync(file, `${service}${r.stdout}`);
    const mesh = loadMesh(file);
    expect(mesh.eventRoutes.map((e) => e.name)).toContain('account-opened');
  }, 120_000);

  test('a spec that does not exist: exit 1, one line', async () => {
    const r = await sidecast(['import', 'openapi', join(tmp, 'missing.yaml'), '--service', 'accounts']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('missing.yaml');
  }, 120_000);
});
