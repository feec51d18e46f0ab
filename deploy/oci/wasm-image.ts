// The event-emitter as an OCI image in either variant of the Wasm image specification that
// Istio's agent pulls (github.com/solo-io/wasm spec):
//   oci    — config application/vnd.module.wasm.config.v1+json, one layer
//            application/vnd.module.wasm.content.layer.v1+wasm holding the module bytes as they are;
//   compat — a plain image: one tar+gzip layer holding plugin.wasm, annotated
//            module.wasm.image/variant=compat, for registries or tools that refuse custom types.
// Deterministic: the same module gives the same digests (no timestamps anywhere).
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export type WasmVariant = 'oci' | 'compat';

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  wasmConfig: 'application/vnd.module.wasm.config.v1+json',
  wasmLayer: 'application/vnd.module.wasm.content.layer.v1+wasm',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  tarGzipLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Blob {
  mediaType: string;
  digest: string;
  bytes: Uint8Array;
}

export interface WasmImage {
  variant: WasmVariant;
  config: Blob;
  layer: Blob;
  manifest: Blob;
}

export const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blob = (mediaType: string, bytes: Uint8Array): Blob => ({ mediaType, digest: sha256(bytes), bytes });
const json = (o: unknown): Uint8Array => Buffer.from(JSON.stringify(o));
const descriptor = (b: Blob, annotations?: Record<string, string>) => ({
  mediaType: b.mediaType,
  digest: b.digest,
  size: b.bytes.length,
  ...(annotations ? { annotations } : {}),
});

/** A one-file POSIX ustar archive (what Istio's agent unpacks from a compat layer). */
export function tarOneFile(name: string, content: Uint8Array): Uint8Array {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, 'ascii');
  const octal = (offset: number, length: number, n: number) =>
    field(offset, length, `${n.toString(8).padStart(length - 1, '0')}\0`);
  field(0, 100, name);
  octal(100, 8, 0o644); // mode
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, content.length);
  octal(136, 12, 0); // mtime: fixed, so digests are reproducible
  field(156, 1, '0'); // regular file
  field(257, 8, 'ustar\u000000');
  header.fill(' ', 148, 156); // checksum is computed with its own field as spaces
  let sum = 0;
  for (const b of header) sum += b;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

export function wasmImage(module: Uint8Array, variant: WasmVariant, rootId = 'event-emitter'): WasmImage {
  if (variant === 'oci') {
    const config = blob(
      MEDIA.wasmConfig,
      json({ type: 'envoy_proxy', abiVersions: ['v0.2.1'], config: { root_ids: [rootId] } }),
    );
    const layer = blob(MEDIA.wasmLayer, module);
    const manifest = blob(
      MEDIA.manifest,
      json({
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        config: descriptor(config, { 'org.opencontainers.image.title': 'runtime-config.json' }),
        layers: [descriptor(layer, { 'org.opencontainers.image.title': 'plugin.wasm' })],
      }),
    );
    return { variant, config, layer, manifest };
  }
  const tar = tarOneFile('plugin.wasm', module);
  const layer = blob(MEDIA.tarGzipLayer, gzipSync(tar, { level: 9 }));
  const config = blob(
    MEDIA.imageConfig,
    json({ architecture: 'wasm', os: 'wasip1', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }),
  );
  const manifest = blob(
    MEDIA.manifest,
    json({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: descriptor(config),
      layers: [descriptor(layer)],
      annotations: { 'module.wasm.image/variant': 'compat' },
    }),
  );
  return { variant, config, layer, manifest };
}
