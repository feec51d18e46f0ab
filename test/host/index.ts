// sidecast/testing — an Envoy-faithful proxy-wasm (ABI 0.2.1) host on Node's V8 for filter tests.
// See docs/writing-a-filter.md ("Testing a filter").
export { ProxyWasmHost, type HostOptions, type CallTrace } from './host.js';
export {
  Plugin,
  PluginRejectedError,
  type PluginOptions,
  type FailurePolicy,
  type LogRecord,
} from './plugin.js';
export {
  Stream,
  type StreamOptions,
  type Action,
  type LocalReply,
  type Passed,
  type PhaseStatus,
  type PhaseName,
} from './stream.js';
export {
  Connection,
  type ConnectionOptions,
  type ConnectionAction,
  type ConnectionPhase,
  type NetworkStatus,
  type Flow,
  type Peer,
} from './connection.js';
export { foreignFunction, type ForeignFunction } from './foreign.js';
export { HttpCallRecord, GrpcCallRecord, type ClusterOptions, type HttpCallResponse } from './calls.js';
export { HeaderMap, encodePairs, decodePairs, type HeadersInit } from './pairs.js';
export { MetricStore } from './metrics.js';
export { SharedState } from './shared.js';
export {
  WasmVm,
  WasmTrap,
  type RootContext,
  type StreamContext,
  type ConnectionContext,
  type Context,
} from './vm.js';
export { WasmLoadError, readModuleInfo, checkLoadable, type ModuleInfo } from './wasm-module.js';
export { serializeValue, toValue, type Value, type PropertyInit } from './properties.js';
export { RouteTable, serializeMetadata, type SelectedRoute } from './routes.js';
export * from './abi.js';
