// Pushes the event-emitter image to the real local registries (Debian's docker-registry, started
// by scripts/ensure-services.sh: plain HTTP :5000 and HTTPS :5443, basic auth) and pulls it back
// with skopeo: same bytes, same digest, in both variants of the Wasm image spec.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pushWasmImage, RegistryError } from '../../deploy/oci/registry.js';
import { MEDIA, sha256, wasmImage } from '../../deploy/oci/wasm-image.js';
import { renderManifests } from '../../deploy/manifests.js';
import { kubernetesOptionsFromEnv } from '../../xds-server/kubernetes/options.js';
import { MeshReconciler } from '../../xds-server/kubernetes/reconcile.js';

const run = promisify(execFile);
const WASM = readFileSync(new URL('../../build/event-emitter.wasm', import.meta.url));
const CREDS = { username: 'sidecast', password: 'sidecast-test' };
const CA = '/var/lib/sidecast-registry/tls/cert.pem';
const RUN = `${process.pid}-${Date.now().toString(36)}`;

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

let available = false;
let certDir: string;
beforeAll(async () => {
  available = (await reachable(5000)) && (await reachable(5443)) && existsSync(CA);
  if (!available && process.env.CI)
    throw new Error(
      'the local registries (127.0.0.1:5000, :5443) are not up: run scripts/ensure-services.sh',
    );
  if (!available) console.log('oci-push: skipped, no local registry (run scripts/ensure-services.sh)');
  certDir = mkdtempSync(join(tmpdir(), 'sidecast-oci-'));
  if (existsSync(CA)) copyFileSync(CA, join(certDir, 'ca.crt')); // skopeo's --cert-dir wants *.crt
});
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

/** skopeo copy to a dir: layout (files named by digest hex) and read what came back. */
async function pullBack(ref: string, tls: boolean) {
  const dir = join(certDir, `pull-${Math.random().toString(36).slice(2)}`);
  const flags = tls ? ['--src-cert-dir', certDir] : ['--src-tls-verify=false'];
  await run('skopeo', [
    'copy',
    '--quiet',
    ...flags,
    '--src-creds',
    `${CREDS.username}:${CREDS.password}`,
    `docker://${ref}`,
    `dir:${dir}`,
  ]);
  const manifestBytes = readFileSync(join(dir, 'manifest.json'));
  const manifest = JSON.parse(manifestBytes.toString());
  const blob = (digest: string) => readFileSync(join(dir, digest.replace('sha256:', '')));
  return { manifestBytes, manifest, blob };
}

describe('event-emitter OCI image pushed to a real registry', () => {
  it('oci variant over plain HTTP with basic auth: skopeo pulls the same module under the same digest', async () => {
    if (!available) return;
    const image = wasmImage(WASM, 'oci');
    const repo = `127.0.0.1:5000/sidecast-test/emitter-${RUN}`;
    const pushed = await pushWasmImage(`${repo}:oci`, image, { ...CREDS, plainHttp: true });
    expect(pushed.digest).toBe(image.manifest.digest);
    expect(pushed.url).toBe(`oci://${repo}@${image.manifest.digest}`);

    const back = await pullBack(`${repo}@${pushed.digest}`, false);
    expect(sha256(back.manifestBytes)).toBe(pushed.digest);
    expect(back.manifest.config.mediaType).toBe(MEDIA.wasmConfig);
    expect(back.manifest.layers).toHaveLength(1);
    expect(back.manifest.layers[0].mediaType).toBe(MEDIA.wasmLayer);
    expect(Buffer.compare(back.blob(back.manifest.layers[0].digest), WASM)).toBe(0);
    expect(JSON.parse(back.blob(back.manifest.config.digest).toString())).toMatchObject({
      type: 'envoy_proxy',
    });
  });

  it('the pushed digest is what the install and the rendered WasmPlugin pin', async () => {
    if (!available) return;
    const { digest, url } = await pushWasmImage(
      `127.0.0.1:5000/sidecast-test/emitter-${RUN}:pin`,
      wasmImage(WASM, 'oci'),
      {
        ...CREDS,
        plainHttp: true,
      },
    );
    // install --mode istio --wasm-image <url> → the controller's environment → its options.
    type Workload = {
      kind: string;
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };
    const deployment = (renderManifests({ mode: 'istio', wasmImage: url }) as unknown as Workload[]).find(
      (o) => o.kind === 'Deployment',
    )!;
    const env = Object.fromEntries(
      deployment.spec.template.spec.containers[0]!.env.filter((e) => e.value !== undefined).map((e) => [
        e.name,
        e.value,
      ]),
    );
    const options = kubernetesOptionsFromEnv(env)!;
    expect(options.istio!.wasmUrl).toBe(url);
    const meshService = {
      apiVersion: 'sidecast.io/v1alpha1',
      kind: 'MeshService',
      metadata: { name: 'accounts', namespace: 'bank', generation: 1 },
      spec: {},
    };
    const route = {
      apiVersion: 'sidecast.io/v1alpha1',
      kind: 'EventRoute',
      metadata: { name: 'opened', namespace: 'bank', generation: 1, uid: 'u1' },
      spec: {
        service: 'accounts',
        match: { path: '/accounts' },
        event: { type: 't.v1', topic: 'acme/opened' },
      },
    };
    const r = new MeshReconciler(options.istio).reconcile({
      base: [
        {
          file: 'mesh.yaml',
          text: 'apiVersion: sidecast.io/v1alpha1\nkind: Mesh\nmetadata: { name: m }\nspec: {}\n',
        },
      ],
      resources: new Map([
        ['MeshService/bank/accounts', meshService],
        ['EventRoute/bank/opened', route],
      ]),
      endpointSlices: [],
      services: [],
    });
    expect((r.wasmPlugins[0]!.spec as { url: string }).url).toBe(
      `oci://127.0.0.1:5000/sidecast-test/emitter-${RUN}@${digest}`,
    );
  });

  it('compat variant over HTTPS (self-signed CA): one tar+gzip layer whose plugin.wasm is the module', async () => {
    if (!available) return;
    const image = wasmImage(WASM, 'compat');
    const repo = `127.0.0.1:5443/sidecast-test/emitter-${RUN}`;
    const pushed = await pushWasmImage(`${repo}:compat`, image, { ...CREDS, caFile: CA });
    const back = await pullBack(`${repo}:compat`, true);
    expect(sha256(back.manifestBytes)).toBe(pushed.digest);
    expect(back.manifest.annotations).toEqual({ 'module.wasm.image/variant': 'compat' });
    expect(back.manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([MEDIA.tarGzipLayer]);
    const tar = gunzipSync(back.blob(back.manifest.layers[0].digest));
    expect(tar.subarray(0, 11).toString()).toBe('plugin.wasm');
    const size = parseInt(tar.subarray(124, 135).toString(), 8);
    expect(size).toBe(WASM.length);
    expect(Buffer.compare(tar.subarray(512, 512 + size), WASM)).toBe(0);
    // diff_ids name the uncompressed layer, as image tools check.
    const config = JSON.parse(back.blob(back.manifest.config.digest).toString());
    expect(config.rootfs.diff_ids).toEqual([sha256(tar)]);
  });

  it('pushing the same module again gives the same digest (reproducible image)', async () => {
    if (!available) return;
    const repo = `127.0.0.1:5000/sidecast-test/emitter-${RUN}`;
    const a = await pushWasmImage(`${repo}:again`, wasmImage(WASM, 'oci'), { ...CREDS, plainHttp: true });
    const b = await pushWasmImage(`${repo}:again`, wasmImage(Buffer.from(WASM), 'oci'), {
      ...CREDS,
      plainHttp: true,
    });
    expect(b.digest).toBe(a.digest);
  });

  it('says what is wrong: bad password, HTTPS without the CA, malformed reference', async () => {
    if (!available) return;
    await expect(
      pushWasmImage(`127.0.0.1:5000/sidecast-test/denied-${RUN}:x`, wasmImage(WASM, 'oci'), {
        username: 'sidecast',
        password: 'wrong',
        plainHttp: true,
      }),
    ).rejects.toThrow(/refused the credentials.*username\/password/);
    await expect(
      pushWasmImage(`127.0.0.1:5443/sidecast-test/untrusted-${RUN}:x`, wasmImage(WASM, 'oci'), CREDS),
    ).rejects.toThrow(
      /cannot reach registry https:\/\/127\.0\.0\.1:5443: self-signed certificate.*--ca-file/,
    );
    await expect(pushWasmImage('event-emitter:latest', wasmImage(WASM, 'oci'))).rejects.toThrow(
      RegistryError,
    );
  });
});
