// proxy_get_property / proxy_set_property: Envoy's attribute table, its availability windows and
// its value encodings (reference §1.5, §2.13). Paths are NUL-separated segments; a dotted single
// segment is NOT split (it is looked up as filter state `wasm.<name>`, i.e. NotFound).
import { MapType, WasmResult } from './abi.js';
import { encodePairs, type HeaderMap } from './pairs.js';
import type { Context } from './vm.js';

/** A typed attribute value. Plain JS values given by tests are converted with `toValue`. */
export type Value =
  | { t: 'string'; v: string }
  | { t: 'bytes'; v: Buffer }
  | { t: 'int'; v: bigint }
  | { t: 'uint'; v: bigint }
  | { t: 'double'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'timestamp'; v: bigint } // ns since epoch
  | { t: 'duration'; v: bigint } // ns
  | { t: 'map'; v: Map<string, Value> }
  | { t: 'list'; v: Value[] };

/** What tests may pass as a property: strings, numbers (int64, or double if fractional), bigint, boolean, bytes, Date, arrays, objects. */
export type PropertyInit =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | Date
  | PropertyInit[]
  | { [k: string]: PropertyInit }
  | Value;

export function toValue(x: PropertyInit): Value {
  if (typeof x === 'string') return { t: 'string', v: x };
  if (typeof x === 'bigint') return { t: 'int', v: x };
  if (typeof x === 'number') return Number.isInteger(x) ? { t: 'int', v: BigInt(x) } : { t: 'double', v: x };
  if (typeof x === 'boolean') return { t: 'bool', v: x };
  if (x instanceof Uint8Array) return { t: 'bytes', v: Buffer.from(x) };
  if (x instanceof Date) return { t: 'timestamp', v: BigInt(x.getTime()) * 1_000_000n };
  if (Array.isArray(x)) return { t: 'list', v: x.map(toValue) };
  if ('t' in x && 'v' in x && typeof x.t === 'string') return x as Value;
  return { t: 'map', v: new Map(Object.entries(x).map(([k, v]) => [k, toValue(v as PropertyInit)])) };
}

const i64 = (v: bigint, signed: boolean) => {
  const b = Buffer.alloc(8);
  if (signed) b.writeBigInt64LE(BigInt.asIntN(64, v));
  else b.writeBigUint64LE(BigInt.asUintN(64, v));
  return b;
};

/** Envoy serializeValue. */
export function serializeValue(value: Value): Buffer {
  switch (value.t) {
    case 'string':
      return Buffer.from(value.v, 'utf8');
    case 'bytes':
      return value.v;
    case 'int':
    case 'timestamp':
    case 'duration':
      return i64(value.v, true);
    case 'uint':
      return i64(value.v, false);
    case 'double': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(value.v);
      return b;
    }
    case 'bool':
      return Buffer.from([value.v ? 1 : 0]);
    case 'map':
      return encodePairs([...value.v].map(([k, v]) => [k, serializeValue(v)] as const));
    case 'list':
      return encodePairs(value.v.map((v) => [serializeValue(v), Buffer.alloc(0)] as const));
  }
}

const str = (v: string | undefined): Value | undefined => (v === undefined ? undefined : { t: 'string', v });

function headersMap(m: HeaderMap): Value {
  return {
    t: 'map',
    v: new Map(Object.entries(m.toObject()).map(([k, v]) => [k, { t: 'string', v } as Value])),
  };
}

function headerText(h: HeaderMap | null, key: string): string | undefined {
  return h?.get(key)?.toString('utf8');
}

/** request.* from the request header map — only while Envoy still holds it (§2.13). */
function requestAttr(ctx: Context, name: string): Value | undefined {
  if (ctx.kind !== 'stream') return undefined;
  const s = ctx.stream;
  const h = s.getConstMap(MapType.HttpRequestHeaders);
  const hv = (k: string) => headerText(h, k);
  const path = hv(':path');
  switch (name) {
    case 'path':
      return str(path);
    case 'url_path':
      return str(path?.split('?')[0]);
    case 'query':
      return path === undefined
        ? undefined
        : str(path.includes('?') ? path.slice(path.indexOf('?') + 1) : '');
    case 'host':
      return str(hv(':authority'));
    case 'scheme':
      return str(hv(':scheme'));
    case 'method':
      return str(hv(':method'));
    case 'referer':
      return str(hv('referer'));
    case 'useragent':
      return str(hv('user-agent'));
    case 'id':
      return str(hv('x-request-id'));
    case 'headers':
      return h ? headersMap(h) : undefined;
    case 'time':
      return { t: 'timestamp', v: s.startNs };
    case 'duration':
      return s.completeNs === undefined ? undefined : { t: 'duration', v: s.completeNs - s.startNs };
    case 'protocol':
      return str(s.protocol);
    case 'size': {
      const cl = s.requestContentLength;
      return { t: 'int', v: BigInt(cl ?? s.requestBytes) };
    }
    case 'total_size':
      return { t: 'int', v: BigInt(s.requestBytes + s.requestHeaderBytes) };
    default:
      return undefined;
  }
}

function responseAttr(ctx: Context, name: string): Value | undefined {
  if (ctx.kind !== 'stream') return undefined;
  const s = ctx.stream;
  const h = s.getConstMap(MapType.HttpResponseHeaders);
  switch (name) {
    case 'code':
      return s.responseCode === undefined ? undefined : { t: 'int', v: BigInt(s.responseCode) };
    case 'code_details':
      return str(s.responseCodeDetails);
    case 'flags':
      return { t: 'int', v: 0n };
    case 'headers':
      return h ? headersMap(h) : undefined;
    case 'trailers': {
      const t = s.getConstMap(MapType.HttpResponseTrailers);
      return t ? headersMap(t) : undefined;
    }
    case 'size':
      return { t: 'int', v: BigInt(s.responseBytes) };
    default:
      return undefined;
  }
}

/** What a stream and a connection both carry: test-given properties, filter state, the downstream connection. */
export interface PropertyScope {
  readonly properties: Map<string, Value>;
  readonly filterState: Map<string, Buffer>;
  readonly connectionId: number;
}

/** What Envoy always knows about a downstream connection; tests override any of them. */
const CONNECTION_DEFAULTS = new Map<string, Value>(
  Object.entries({
    'source.address': '127.0.0.1:50000',
    'source.port': 50000,
    'destination.address': '127.0.0.1:15006',
    'destination.port': 15006,
    'connection.mtls': false,
  }).map(([k, v]) => [k, toValue(v)]),
);

function connectionDefault(scope: PropertyScope, key: string): Value | undefined {
  if (key === 'connection.id') return { t: 'uint', v: BigInt(scope.connectionId) };
  return CONNECTION_DEFAULTS.get(key);
}

/** The stream or connection a context belongs to (root and VM contexts have none). */
function scopeOf(ctx: Context): PropertyScope | undefined {
  if (ctx.kind === 'stream') return ctx.stream;
  if (ctx.kind === 'connection') return ctx.connection;
  return undefined;
}

/** Overrides given by the test (`'xds.route_name': 'r1'`): stream/connection, then plugin-wide, then defaults. */
function override(ctx: Context, key: string): Value | undefined {
  if (ctx.kind === 'vm') return undefined;
  const scope = scopeOf(ctx);
  return (
    scope?.properties.get(key) ??
    ctx.root.plugin.properties.get(key) ??
    (scope ? connectionDefault(scope, key) : undefined)
  );
}

function topLevel(ctx: Context, segments: string[]): { value?: Value; consumed: number } {
  const [first, second] = segments;
  if (ctx.kind === 'vm') return { consumed: 1 };
  const plugin = ctx.root.plugin;
  if (first === 'plugin_name') return { value: { t: 'string', v: plugin.name }, consumed: 1 };
  if (first === 'plugin_root_id') return { value: { t: 'string', v: plugin.rootId }, consumed: 1 };
  if (first === 'plugin_vm_id') return { value: { t: 'string', v: ctx.vm.vmId }, consumed: 1 };
  // Longest test-provided override wins (e.g. 'xds.node.metadata.k' or 'xds.route_name').
  let key = segments.join('.');
  for (let n = segments.length; n >= 2; n--) {
    const v = override(ctx, key);
    if (v) return { value: v, consumed: n };
    key = key.slice(0, key.length - segments[n - 1]!.length - 1);
  }
  if (first === 'xds' && ctx.kind === 'stream' && ctx.stream.route) {
    // From the selected route (routes.ts); the metadata is a message: protobuf bytes.
    const r = ctx.stream.route;
    if (second === 'route_name') return { value: { t: 'string', v: r.name }, consumed: 2 };
    if (second === 'route_metadata') return { value: { t: 'bytes', v: r.metadata }, consumed: 2 };
    if (second === 'virtual_host_name') return { value: { t: 'string', v: r.virtualHost }, consumed: 2 };
  }
  const single = override(ctx, first!);
  if (single && !first!.includes('.')) return { value: single, consumed: 1 };
  if (second !== undefined && first === 'request') {
    const v = requestAttr(ctx, second);
    if (v) return { value: v, consumed: 2 };
  }
  if (second !== undefined && first === 'response') {
    const v = responseAttr(ctx, second);
    if (v) return { value: v, consumed: 2 };
  }
  const scope = scopeOf(ctx);
  if (first === 'connection_id' && scope)
    return { value: { t: 'uint', v: BigInt(scope.connectionId) }, consumed: 1 }; // wasm-only alias
  const fs = scope?.filterState.get(first!);
  if (fs) return { value: { t: 'bytes', v: fs }, consumed: 1 };
  return { consumed: 1 };
}

export function getProperty(ctx: Context, path: Buffer): { result: WasmResult; value?: Buffer } {
  const segments = path.toString('utf8').split('\0');
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop(); // trailing NUL tolerated
  if (segments.length === 0 || segments[0] === '') return { result: WasmResult.NotFound };
  const top = topLevel(ctx, segments);
  let value = top.value;
  for (const seg of segments.slice(top.consumed)) {
    if (!value) break;
    if (value.t === 'map') value = value.v.get(seg);
    else if (value.t === 'list') value = /^\d+$/.test(seg) ? value.v[Number(seg)] : undefined;
    else value = undefined;
  }
  return value ? { result: WasmResult.Ok, value: serializeValue(value) } : { result: WasmResult.NotFound };
}

/** Envoy stores a CelState under filter state `wasm.<path>` of the stream's or connection's stream info; there is none on a root. */
export function setProperty(ctx: Context, path: Buffer, value: Buffer): WasmResult {
  const scope = scopeOf(ctx);
  if (!scope) return WasmResult.NotFound;
  scope.filterState.set(path.toString('utf8').split('\0')[0]!, Buffer.from(value));
  return WasmResult.Ok;
}
