// sidecast proxy-wasm SDK for AssemblyScript 0.28 — ABI 0.2.1 (Envoy, Istio).
//
// API overview
//   Entry file of a filter (filters/<name>/index.ts):
//     export * from "../sdk/exports";            // REQUIRED one-liner: the proxy_on_* exports + malloc
//     import { RootContext, HttpContext, registerRootContext, ... } from "../sdk";
//     registerRootContext(createRoot, "my_root_id");   // top level; factory = top-level function
//   Contexts (context.ts): extend RootContext (onVmStart, onConfigure, onTick, onQueueReady,
//     createHttpContext) and HttpContext (onRequestHeaders/Body/Trailers, onResponse*, onLog,
//     onDone/onDelete) and TcpContext for network filters (createTcpContext; onNewConnection,
//     onDownstreamData/onUpstreamData with downstreamData/upstreamData buffers, close callbacks,
//     continueDownstream/closeDownstream). Callout results (onHttpCallResponse, onGrpc*) are delivered to the context
//     that called this.httpCall / this.grpcCall / this.grpcStream, made effective, else to its root.
//   Headers (maps.ts): requestHeaders / responseHeaders / *Trailers / httpCallResponseHeaders /
//     grpc*Metadata: get(name): string | null, getBytes, has, add, replace, remove, pairs(), setPairs(),
//     byteSize(). Bodies and config: requestBody / responseBody / httpCallResponseBody /
//     grpcReceiveBuffer / pluginConfiguration / vmConfiguration: size(), bytes(start, max), text(),
//     set / replace / append / prepend.
//   Properties (properties.ts): getProperty(["xds","route_name"]) bytes, getPropertyString,
//     getPropertyI64(path, fallback), decodeI64/U64/F64/Bool/Map, setProperty(path, bytes).
//   Logging (log.ts): log.info(msg) ...; guard string building with log.enabled(LogLevel.Debug).
//   Metrics (metrics.ts): new Counter(name) / Gauge / Histogram in onConfigure; .increment/.set/.record.
//   Host calls (hostcalls.ts): getCurrentTimeNanoseconds, setTickPeriodMilliseconds, sendLocalResponse,
//     continueStream/closeStream, get/setSharedData (CAS), register/resolve/enqueue/dequeueSharedQueue,
//     grpcSend/grpcCancel/grpcClose, getStatus, callForeignFunction, setEffectiveContext, done.
//   Types (types.ts): WasmResult, MapType, BufferType, Filter*Status, LogLevel, GrpcStatus, HeaderPair,
//     U32Result / BytesResult / SharedDataValue (status + value; wrappers never throw on host statuses).
// Rules: no closures in AS — callbacks are overridden methods, factories are top-level functions.
// Everything request-scoped must be captured in onRequestHeaders (Envoy drops request headers after).
// Build: node scripts/build-wasm.mjs (asconfig: filters/asconfig.base.json via "extends").

export * from "./types";
export { log } from "./log";
export { Context, RootContext, HttpContext, TcpContext } from "./context";
export { registerRootContext, RootContextFactory } from "./dispatcher";
export { pendingCallouts } from "./callouts";
export * from "./maps";
export * from "./properties";
export { Counter, Gauge, Histogram, Metric } from "./metrics";
export {
  getHeaderMapValue, getHeaderMapValueBytes, getHeaderMapPairs, setHeaderMapPairs, getHeaderMapSize,
  addHeaderMapValue, replaceHeaderMapValue, removeHeaderMapValue, getBufferBytes, getBufferSize, setBufferBytes,
  continueStream, closeStream, sendLocalResponse, getCurrentTimeNanoseconds, setTickPeriodMilliseconds,
  setEffectiveContext, done, getStatus, httpCall, grpcCall, grpcStream, grpcSend, grpcCancel, grpcClose,
  getSharedData, setSharedData, registerSharedQueue, resolveSharedQueue, enqueueSharedQueue, dequeueSharedQueue,
  callForeignFunction,
} from "./hostcalls";
