// Hand-assembled DiscoveryResponse / DeltaDiscoveryResponse bytes. Each resource is wrapped
// (Any, or delta Resource) once and memoised on its CachedResource; a response to one stream is
// then only a concatenation of shared bytes plus its own few header fields (version, nonce).
// Field numbers from envoy/service/discovery/v3/discovery.proto.
import protobuf from 'protobufjs';
import type { CachedResource } from '../cache/types.js';

const { Writer } = protobuf;

/** Wire type 2 (length-delimited) tag of a field. */
const tag = (field: number): number => (field << 3) | 2;

const sotwEntries = new WeakMap<CachedResource, Uint8Array>();
const deltaEntries = new WeakMap<CachedResource, Uint8Array>();

function anyMessage(typeUrl: string, bytes: Uint8Array): Uint8Array {
  return Writer.create().uint32(tag(1)).string(typeUrl).uint32(tag(2)).bytes(bytes).finish();
}

/** `resources` entry (field 2, google.protobuf.Any) of a DiscoveryResponse. */
function sotwEntry(typeUrl: string, r: CachedResource): Uint8Array {
  let e = sotwEntries.get(r);
  if (!e)
    sotwEntries.set(r, (e = Writer.create().uint32(tag(2)).bytes(anyMessage(typeUrl, r.bytes)).finish()));
  return e;
}

/** `resources` entry (field 2, Resource{version=1, resource=2, name=3}) of a DeltaDiscoveryResponse. */
function deltaEntry(typeUrl: string, r: CachedResource): Uint8Array {
  let e = deltaEntries.get(r);
  if (!e) {
    const resource = Writer.create()
      .uint32(tag(1))
      .string(r.version)
      .uint32(tag(2))
      .bytes(anyMessage(typeUrl, r.bytes))
      .uint32(tag(3))
      .string(r.name)
      .finish();
    deltaEntries.set(r, (e = Writer.create().uint32(tag(2)).bytes(resource).finish()));
  }
  return e;
}

/** Resource wrapping with a TTL (xds.config.supports-resource-ttl); bodiless = heartbeat. */
export interface Wrap {
  ttlMs: number;
  bodiless?: boolean;
}

const RESOURCE_TYPE_URL = 'type.googleapis.com/envoy.service.discovery.v3.Resource';

/** google.protobuf.Duration{seconds=1, nanos=2}. */
function duration(ms: number): Uint8Array {
  const w = Writer.create()
    .uint32(8)
    .int64(Math.floor(ms / 1000));
  const nanos = (ms % 1000) * 1e6;
  if (nanos) w.uint32(16).int32(nanos);
  return w.finish();
}

/** Resource{version=1, resource=2, name=3, ttl=6}; without resource for a heartbeat. */
function wrappedResource(typeUrl: string, r: CachedResource, wrap: Wrap): Uint8Array {
  const w = Writer.create().uint32(tag(1)).string(r.version);
  if (!wrap.bodiless) w.uint32(tag(2)).bytes(anyMessage(typeUrl, r.bytes));
  return w.uint32(tag(3)).string(r.name).uint32(tag(6)).bytes(duration(wrap.ttlMs)).finish();
}

/** `control_plane` field bytes (ControlPlane{identifier=1}) at the given field number. */
export function controlPlaneField(field: number, identifier: string): Uint8Array {
  const cp = Writer.create().uint32(tag(1)).string(identifier).finish();
  return Writer.create().uint32(tag(field)).bytes(cp).finish();
}

export interface SotwResponse {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: readonly CachedResource[];
  /** SotW `Resource` wrapper with a TTL (only for clients advertising supports-resource-in-sotw). */
  wrap?: Wrap;
}

export function encodeSotwResponse(res: SotwResponse, controlPlane: Uint8Array): Buffer {
  const wrap = res.wrap;
  const head = Writer.create()
    .uint32(tag(1))
    .string(res.versionInfo)
    .uint32(tag(4))
    .string(res.typeUrl)
    .uint32(tag(5))
    .string(res.nonce)
    .finish();
  const entry = wrap
    ? (r: CachedResource) =>
        Writer.create()
          .uint32(tag(2))
          .bytes(anyMessage(RESOURCE_TYPE_URL, wrappedResource(res.typeUrl, r, wrap)))
          .finish()
    : (r: CachedResource) => sotwEntry(res.typeUrl, r);
  return Buffer.concat([head, controlPlane, ...res.resources.map(entry)]);
}

export interface DeltaResponse {
  systemVersionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: readonly CachedResource[];
  removed: readonly string[];
  wrap?: Wrap;
}

export function encodeDeltaResponse(res: DeltaResponse, controlPlane: Uint8Array): Buffer {
  const head = Writer.create()
    .uint32(tag(1))
    .string(res.systemVersionInfo)
    .uint32(tag(4))
    .string(res.typeUrl)
    .uint32(tag(5))
    .string(res.nonce);
  for (const name of res.removed) head.uint32(tag(6)).string(name);
  return Buffer.concat([
    head.finish(),
    controlPlane,
    ...res.resources.map((r) =>
      res.wrap
        ? Writer.create()
            .uint32(tag(2))
            .bytes(wrappedResource(res.typeUrl, r, res.wrap))
            .finish()
        : deltaEntry(res.typeUrl, r),
    ),
  ]);
}
