// Maps context ids to context objects and routes every module export (exports.ts) to them.
// Never traps on ids it does not know: such callbacks get the pass-through answer.
import { Context, HttpContext, RootContext, TcpContext } from "./context";
import { calloutOwner, forgetCalloutsOfRoot } from "./callouts";
import { getPropertyString, setEffectiveContext } from "./hostcalls";
import { log } from "./log";
import {
  FilterDataStatus, FilterHeadersStatus, FilterMetadataStatus, FilterStatus, FilterTrailersStatus, GrpcStatus,
  LogLevel, PeerType, WasmResult,
} from "./types";

/** Creates the root context of a plugin; must be a top-level function (AS has no closures). */
export type RootContextFactory = (contextId: u32) => RootContext;

const factories = new Map<string, RootContextFactory>();
const contexts = new Map<u32, Context>();
const ROOT_ID_PATH: string[] = ["plugin_root_id"];

// Envoy calls one stream's callbacks back to back (create, headers, ..., log, done, delete), so a
// one-entry cache answers most lookups without hashing — including "no context" for streams the
// root chose not to handle. Id 0 (the VM context) never has an object.
let cachedId: u32 = 0;
let cached: Context | null = null;

function find(id: u32): Context | null {
  if (id == cachedId) return cached;
  const c = contexts.has(id) ? contexts.get(id) : null;
  cachedId = id;
  cached = c;
  return c;
}

function remember(id: u32, c: Context | null): void {
  if (c !== null) contexts.set(id, c);
  cachedId = id;
  cached = c;
}

// Stream creation looks up the parent root between two streams' callbacks: a second one-entry
// cache keeps that off the hash map too.
let cachedRootId: u32 = 0;
let cachedRoot: RootContext | null = null;

function rootOf(id: u32): RootContext | null {
  if (id == cachedRootId) return cachedRoot;
  const c = find(id);
  if (c === null || !(c instanceof RootContext)) return null;
  cachedRootId = id;
  cachedRoot = changetype<RootContext>(c);
  return cachedRoot;
}
function httpOf(id: u32): HttpContext | null {
  const c = find(id);
  return c !== null && c instanceof HttpContext ? changetype<HttpContext>(c) : null;
}
function tcpOf(id: u32): TcpContext | null {
  const c = find(id);
  return c !== null && c instanceof TcpContext ? changetype<TcpContext>(c) : null;
}

// proxy_on_context_create does not say whether the new context is an HTTP stream or a TCP
// connection, so createStream asks the root for an HttpContext first. Envoy's network filter calls
// proxy_on_new_connection right after creating the context; a context that turns out to be a
// connection is made again here with createTcpContext.
function connectionOf(id: u32): TcpContext | null {
  const c = find(id);
  if (c === null || c instanceof TcpContext) return tcpOf(id);
  if (!(c instanceof HttpContext)) return null;
  const tcp = changetype<HttpContext>(c).root.createTcpContext(id);
  if (tcp === null) contexts.delete(id);
  remember(id, tcp);
  return tcp;
}

/**
 * Registers the root context factory for plugins configured with `rootId` (Envoy's `root_id`,
 * Istio's WasmPlugin pluginName; "" when unset). Call it at the top level of the filter's entry
 * file: that code runs in `_initialize`, before any context exists.
 */
export function registerRootContext(factory: RootContextFactory, rootId: string = ""): void {
  factories.set(rootId, factory);
}

function createRoot(id: u32): void {
  log.refreshLevel();
  const s = getPropertyString(ROOT_ID_PATH);
  const rootId = s === null ? "" : s;
  let root: RootContext;
  if (factories.has(rootId)) {
    root = factories.get(rootId)(id);
  } else {
    // Never trap: a VM that traps is dead for every request on that worker.
    log.error(
      'sidecast sdk: no root context registered for root_id "' + rootId + '" (registered: ' +
        factories.keys().join(", ") + "); this plugin passes traffic through untouched. " +
        "Set root_id in the plugin config to a registered one or call registerRootContext(factory, \"" + rootId + "\").",
    );
    root = new RootContext(id);
  }
  root.rootId = rootId;
  remember(id, root);
}

// Envoy's log level can change at runtime (admin /logging); streams re-read it now and then so a
// filter without ticks notices, at the cost of one host call per LEVEL_REFRESH_EVERY streams.
const LEVEL_REFRESH_EVERY: u32 = 64;
let streamsSinceRefresh: u32 = 0;

function createStream(id: u32, parentId: u32): void {
  if (++streamsSinceRefresh >= LEVEL_REFRESH_EVERY) {
    streamsSinceRefresh = 0;
    log.refreshLevel();
  }
  const root = rootOf(parentId);
  if (root === null) {
    if (log.enabled(LogLevel.Warn)) log.warn("sidecast sdk: context " + id.toString() + " has unknown root " + parentId.toString());
    remember(id, null);
    return;
  }
  const http = root.createHttpContext(id);
  remember(id, http !== null ? http : root.createTcpContext(id));
}

export function onContextCreate(id: u32, parentId: u32): void {
  if (parentId == 0) createRoot(id);
  else createStream(id, parentId);
}

// ---------------------------------------------------------------- root callbacks

export function onVmStart(rootId: u32, size: u32): bool {
  log.refreshLevel();
  const r = rootOf(rootId);
  return r === null ? true : r.onVmStart(size);
}
export function onValidateConfiguration(rootId: u32, size: u32): bool {
  const r = rootOf(rootId);
  return r === null ? true : r.onValidateConfiguration(size);
}
export function onConfigure(rootId: u32, size: u32): bool {
  log.refreshLevel();
  const r = rootOf(rootId);
  return r === null ? true : r.onConfigure(size);
}
export function onTick(rootId: u32): void {
  log.refreshLevel();
  const r = rootOf(rootId);
  if (r !== null) r.onTick();
}
export function onQueueReady(rootId: u32, queueId: u32): void {
  const r = rootOf(rootId);
  if (r !== null) r.onQueueReady(queueId);
}
export function onForeignFunction(rootId: u32, functionId: u32, argsSize: u32): void {
  const r = rootOf(rootId);
  if (r !== null) r.onForeignFunction(functionId, argsSize);
}

// ---------------------------------------------------------------- lifecycle

export function onDone(id: u32): bool {
  const c = find(id);
  return c === null ? true : c.onDone();
}
export function onLog(id: u32): void {
  const c = find(id);
  if (c !== null) c.onLog();
}
export function onDelete(id: u32): void {
  const c = find(id);
  if (c !== null) {
    c.onDelete();
    contexts.delete(id);
    if (c instanceof RootContext) forgetCalloutsOfRoot(id);
  }
  if (cachedId == id) {
    cachedId = 0;
    cached = null;
  }
  if (cachedRootId == id) {
    cachedRootId = 0;
    cachedRoot = null;
  }
}

// ---------------------------------------------------------------- HTTP stream callbacks

export function onRequestHeaders(id: u32, n: u32, eos: bool): FilterHeadersStatus {
  const c = httpOf(id);
  return c === null ? FilterHeadersStatus.Continue : c.onRequestHeaders(n, eos);
}
export function onRequestBody(id: u32, size: u32, eos: bool): FilterDataStatus {
  const c = httpOf(id);
  return c === null ? FilterDataStatus.Continue : c.onRequestBody(size, eos);
}
export function onRequestTrailers(id: u32, n: u32): FilterTrailersStatus {
  const c = httpOf(id);
  return c === null ? FilterTrailersStatus.Continue : c.onRequestTrailers(n);
}
export function onRequestMetadata(id: u32, n: u32): FilterMetadataStatus {
  const c = httpOf(id);
  return c === null ? FilterMetadataStatus.Continue : c.onRequestMetadata(n);
}
export function onResponseHeaders(id: u32, n: u32, eos: bool): FilterHeadersStatus {
  const c = httpOf(id);
  return c === null ? FilterHeadersStatus.Continue : c.onResponseHeaders(n, eos);
}
export function onResponseBody(id: u32, size: u32, eos: bool): FilterDataStatus {
  const c = httpOf(id);
  return c === null ? FilterDataStatus.Continue : c.onResponseBody(size, eos);
}
export function onResponseTrailers(id: u32, n: u32): FilterTrailersStatus {
  const c = httpOf(id);
  return c === null ? FilterTrailersStatus.Continue : c.onResponseTrailers(n);
}
export function onResponseMetadata(id: u32, n: u32): FilterMetadataStatus {
  const c = httpOf(id);
  return c === null ? FilterMetadataStatus.Continue : c.onResponseMetadata(n);
}

// ---------------------------------------------------------------- TCP callbacks

export function onNewConnection(id: u32): FilterStatus {
  const c = connectionOf(id);
  return c === null ? FilterStatus.Continue : c.onNewConnection();
}
export function onDownstreamData(id: u32, size: u32, eos: bool): FilterStatus {
  const c = tcpOf(id);
  return c === null ? FilterStatus.Continue : c.onDownstreamData(size, eos);
}
export function onUpstreamData(id: u32, size: u32, eos: bool): FilterStatus {
  const c = tcpOf(id);
  return c === null ? FilterStatus.Continue : c.onUpstreamData(size, eos);
}
export function onDownstreamConnectionClose(id: u32, peer: PeerType): void {
  const c = tcpOf(id);
  if (c !== null) c.onDownstreamConnectionClose(peer);
}
export function onUpstreamConnectionClose(id: u32, peer: PeerType): void {
  const c = tcpOf(id);
  if (c !== null) c.onUpstreamConnectionClose(peer);
}

// ---------------------------------------------------------------- callout results

/**
 * The context that should receive a callout result delivered to root `rootId`: the issuing
 * context when it still exists (made effective so its headers/body can be used), else the root.
 */
function calloutTarget(rootId: u32, token: u32, final: bool): Context | null {
  const owner = calloutOwner(token, final);
  if (owner != 0 && owner != rootId) {
    const c = find(owner);
    if (c !== null && setEffectiveContext(owner) == WasmResult.Ok) return c;
  }
  return rootOf(rootId);
}

export function onHttpCallResponse(rootId: u32, token: u32, n: u32, bodySize: u32, nTrailers: u32): void {
  const c = calloutTarget(rootId, token, true);
  if (c !== null) c.onHttpCallResponse(token, n, bodySize, nTrailers);
}
export function onGrpcReceiveInitialMetadata(rootId: u32, token: u32, n: u32): void {
  const c = calloutTarget(rootId, token, false);
  if (c !== null) c.onGrpcReceiveInitialMetadata(token, n);
}
export function onGrpcReceive(rootId: u32, token: u32, size: u32): void {
  const c = calloutTarget(rootId, token, false);
  if (c !== null) c.onGrpcReceive(token, size);
}
export function onGrpcReceiveTrailingMetadata(rootId: u32, token: u32, n: u32): void {
  const c = calloutTarget(rootId, token, false);
  if (c !== null) c.onGrpcReceiveTrailingMetadata(token, n);
}
export function onGrpcClose(rootId: u32, token: u32, status: u32): void {
  const c = calloutTarget(rootId, token, true);
  if (c !== null) c.onGrpcClose(token, <GrpcStatus>status);
}
