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
const roots = new Map<u32, RootContext>();
const https = new Map<u32, HttpContext>();
const tcps = new Map<u32, TcpContext>();
const ROOT_ID_PATH: string[] = ["plugin_root_id"];

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
  roots.set(id, root);
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
  if (!roots.has(parentId)) {
    if (log.enabled(LogLevel.Warn)) log.warn("sidecast sdk: context " + id.toString() + " has unknown root " + parentId.toString());
    return;
  }
  const root = roots.get(parentId);
  const http = root.createHttpContext(id);
  if (http !== null) {
    https.set(id, http);
    return;
  }
  const tcp = root.createTcpContext(id);
  if (tcp !== null) tcps.set(id, tcp);
}

export function onContextCreate(id: u32, parentId: u32): void {
  if (parentId == 0) createRoot(id);
  else createStream(id, parentId);
}

function anyContext(id: u32): Context | null {
  if (https.has(id)) return https.get(id);
  if (tcps.has(id)) return tcps.get(id);
  if (roots.has(id)) return roots.get(id);
  return null;
}

// ---------------------------------------------------------------- root callbacks

export function onVmStart(rootId: u32, size: u32): bool {
  log.refreshLevel();
  return roots.has(rootId) ? roots.get(rootId).onVmStart(size) : true;
}
export function onValidateConfiguration(rootId: u32, size: u32): bool {
  return roots.has(rootId) ? roots.get(rootId).onValidateConfiguration(size) : true;
}
export function onConfigure(rootId: u32, size: u32): bool {
  log.refreshLevel();
  return roots.has(rootId) ? roots.get(rootId).onConfigure(size) : true;
}
export function onTick(rootId: u32): void {
  log.refreshLevel();
  if (roots.has(rootId)) roots.get(rootId).onTick();
}
export function onQueueReady(rootId: u32, queueId: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onQueueReady(queueId);
}
export function onForeignFunction(rootId: u32, functionId: u32, argsSize: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onForeignFunction(functionId, argsSize);
}

// ---------------------------------------------------------------- lifecycle

export function onDone(id: u32): bool {
  const c = anyContext(id);
  return c === null ? true : c.onDone();
}
export function onLog(id: u32): void {
  const c = anyContext(id);
  if (c !== null) c.onLog();
}
export function onDelete(id: u32): void {
  const c = anyContext(id);
  if (c === null) return;
  c.onDelete();
  if (https.has(id)) https.delete(id);
  else if (tcps.has(id)) tcps.delete(id);
  else {
    roots.delete(id);
    forgetCalloutsOfRoot(id);
  }
}

// ---------------------------------------------------------------- HTTP stream callbacks

export function onRequestHeaders(id: u32, n: u32, eos: bool): FilterHeadersStatus {
  return https.has(id) ? https.get(id).onRequestHeaders(n, eos) : FilterHeadersStatus.Continue;
}
export function onRequestBody(id: u32, size: u32, eos: bool): FilterDataStatus {
  return https.has(id) ? https.get(id).onRequestBody(size, eos) : FilterDataStatus.Continue;
}
export function onRequestTrailers(id: u32, n: u32): FilterTrailersStatus {
  return https.has(id) ? https.get(id).onRequestTrailers(n) : FilterTrailersStatus.Continue;
}
export function onRequestMetadata(id: u32, n: u32): FilterMetadataStatus {
  return https.has(id) ? https.get(id).onRequestMetadata(n) : FilterMetadataStatus.Continue;
}
export function onResponseHeaders(id: u32, n: u32, eos: bool): FilterHeadersStatus {
  return https.has(id) ? https.get(id).onResponseHeaders(n, eos) : FilterHeadersStatus.Continue;
}
export function onResponseBody(id: u32, size: u32, eos: bool): FilterDataStatus {
  return https.has(id) ? https.get(id).onResponseBody(size, eos) : FilterDataStatus.Continue;
}
export function onResponseTrailers(id: u32, n: u32): FilterTrailersStatus {
  return https.has(id) ? https.get(id).onResponseTrailers(n) : FilterTrailersStatus.Continue;
}
export function onResponseMetadata(id: u32, n: u32): FilterMetadataStatus {
  return https.has(id) ? https.get(id).onResponseMetadata(n) : FilterMetadataStatus.Continue;
}

// ---------------------------------------------------------------- TCP callbacks

export function onNewConnection(id: u32): FilterStatus {
  return tcps.has(id) ? tcps.get(id).onNewConnection() : FilterStatus.Continue;
}
export function onDownstreamData(id: u32, size: u32, eos: bool): FilterStatus {
  return tcps.has(id) ? tcps.get(id).onDownstreamData(size, eos) : FilterStatus.Continue;
}
export function onUpstreamData(id: u32, size: u32, eos: bool): FilterStatus {
  return tcps.has(id) ? tcps.get(id).onUpstreamData(size, eos) : FilterStatus.Continue;
}
export function onDownstreamConnectionClose(id: u32, peer: PeerType): void {
  if (tcps.has(id)) tcps.get(id).onDownstreamConnectionClose(peer);
}
export function onUpstreamConnectionClose(id: u32, peer: PeerType): void {
  if (tcps.has(id)) tcps.get(id).onUpstreamConnectionClose(peer);
}

// ---------------------------------------------------------------- callout results

/**
 * The context that should receive a callout result delivered to root `rootId`: the issuing
 * context when it still exists (made effective so its headers/body can be used), else the root.
 */
function calloutTarget(rootId: u32, token: u32, final: bool): Context | null {
  const owner = calloutOwner(token, final);
  if (owner != 0 && owner != rootId) {
    const c = anyContext(owner);
    if (c !== null && setEffectiveContext(owner) == WasmResult.Ok) return c;
  }
  return roots.has(rootId) ? roots.get(rootId) : null;
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
