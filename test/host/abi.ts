// Proxy-Wasm ABI 0.2.1 constants and signatures, as Envoy (proxy-wasm-cpp-host) defines them.
// Reference: shared/reference/proxy-wasm.md §1.2–1.4.

export enum WasmResult {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  BadExpression = 5,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  ResultMismatch = 9,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  DownstreamData = 2,
  UpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  CallData = 8,
}

export enum MapType {
  HttpRequestHeaders = 0,
  HttpRequestTrailers = 1,
  HttpResponseHeaders = 2,
  HttpResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

/** Envoy's FilterHeadersStatus names, indexed by value. */
export const HEADERS_STATUS = [
  'Continue',
  'StopIteration',
  'ContinueAndEndStream',
  'StopAllIterationAndBuffer',
  'StopAllIterationAndWatermark',
] as const;
export type HeadersStatus = (typeof HEADERS_STATUS)[number];

/** Envoy's FilterDataStatus names, indexed by value. */
export const DATA_STATUS = [
  'Continue',
  'StopIterationAndBuffer',
  'StopIterationAndWatermark',
  'StopIterationNoBuffer',
] as const;
export type DataStatus = (typeof DATA_STATUS)[number];

export type TrailersStatus = 'Continue' | 'StopIteration';

export enum StreamType {
  HttpRequest = 0,
  HttpResponse = 1,
  Downstream = 2,
  Upstream = 3,
}

export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
  Off = 6,
}
export const LOG_LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'critical', 'off'] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];

export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

export const ABI_MARKERS = [
  'proxy_abi_version_0_1_0',
  'proxy_abi_version_0_2_0',
  'proxy_abi_version_0_2_1',
] as const;
export type AbiMarker = (typeof ABI_MARKERS)[number];

/** A wasm function signature written as "<params>:<results>" with i=i32, I=i64, e.g. "iii:i". */
export type Sig = string;

const i = (n: number, result = true): Sig => 'i'.repeat(n) + ':' + (result ? 'i' : '');

/** Host functions of ABI 0.2.1 (module `env`), name → signature. Registered only for a 0.2.1 module. */
export const PROXY_IMPORTS_0_2_1: Record<string, Sig> = {
  proxy_log: i(3),
  proxy_get_log_level: i(1),
  proxy_get_status: i(3),
  proxy_set_property: i(4),
  proxy_get_property: i(4),
  proxy_send_local_response: i(8),
  proxy_get_shared_data: i(5),
  proxy_set_shared_data: i(5),
  proxy_register_shared_queue: i(3),
  proxy_resolve_shared_queue: i(5),
  proxy_dequeue_shared_queue: i(3),
  proxy_enqueue_shared_queue: i(3),
  proxy_get_header_map_value: i(5),
  proxy_add_header_map_value: i(5),
  proxy_replace_header_map_value: i(5),
  proxy_remove_header_map_value: i(3),
  proxy_get_header_map_pairs: i(3),
  proxy_set_header_map_pairs: i(3),
  proxy_get_header_map_size: i(2),
  proxy_get_buffer_status: i(3),
  proxy_get_buffer_bytes: i(5),
  proxy_set_buffer_bytes: i(5),
  proxy_http_call: i(10),
  proxy_grpc_call: i(12),
  proxy_grpc_stream: i(9),
  proxy_grpc_close: i(1),
  proxy_grpc_cancel: i(1),
  proxy_grpc_send: i(4),
  proxy_set_tick_period_milliseconds: i(1),
  proxy_get_current_time_nanoseconds: i(1),
  proxy_define_metric: i(4),
  proxy_increment_metric: 'iI:i',
  proxy_record_metric: 'iI:i',
  proxy_get_metric: i(2),
  proxy_set_effective_context: i(1),
  proxy_done: i(0),
  proxy_call_foreign_function: i(6),
  proxy_continue_stream: i(1),
  proxy_close_stream: i(1),
};

/** Emscripten helpers Envoy registers in `env`. */
export const ENV_EXTRA_IMPORTS: Record<string, Sig> = {
  pthread_equal: i(2),
  emscripten_notify_memory_growth: i(1, false),
};

/** WASI subset Envoy registers under both `wasi_snapshot_preview1` and `wasi_unstable`. */
export const WASI_IMPORTS: Record<string, Sig> = {
  fd_write: i(4),
  fd_read: i(4),
  fd_seek: 'iIii:i',
  fd_close: i(1),
  fd_fdstat_get: i(2),
  environ_get: i(2),
  environ_sizes_get: i(2),
  args_get: i(2),
  args_sizes_get: i(2),
  clock_time_get: 'iIi:i',
  random_get: i(2),
  proc_exit: i(1, false),
  poll_oneoff: i(4),
};
export const WASI_MODULES = ['wasi_snapshot_preview1', 'wasi_unstable'] as const;

/** Module exports the host may call, with the signature cpp-host requires ("Bad function signature"). */
export const MODULE_EXPORTS: Record<string, Sig> = {
  _initialize: i(0, false),
  _start: i(0, false),
  main: i(2),
  malloc: i(1),
  proxy_on_memory_allocate: i(1),
  proxy_validate_configuration: i(2),
  proxy_on_vm_start: i(2),
  proxy_on_configure: i(2),
  proxy_on_tick: i(1, false),
  proxy_on_context_create: i(2, false),
  proxy_on_new_connection: i(1),
  proxy_on_downstream_data: i(3),
  proxy_on_upstream_data: i(3),
  proxy_on_downstream_connection_close: i(2, false),
  proxy_on_upstream_connection_close: i(2, false),
  proxy_on_request_headers: i(3),
  proxy_on_request_body: i(3),
  proxy_on_request_trailers: i(2),
  proxy_on_request_metadata: i(2),
  proxy_on_response_headers: i(3),
  proxy_on_response_body: i(3),
  proxy_on_response_trailers: i(2),
  proxy_on_response_metadata: i(2),
  proxy_on_http_call_response: i(5, false),
  proxy_on_grpc_receive_initial_metadata: i(3, false),
  proxy_on_grpc_receive: i(3, false),
  proxy_on_grpc_receive_trailing_metadata: i(3, false),
  proxy_on_grpc_close: i(3, false),
  proxy_on_queue_ready: i(2, false),
  proxy_on_foreign_function: i(3, false),
  proxy_on_done: i(1),
  proxy_on_log: i(1, false),
  proxy_on_delete: i(1, false),
};

/** Hostcalls allowed while the module runs `_initialize`/`_start` (cpp-host restricted window). */
export const INITIALIZE_ALLOWED = new Set([
  'proxy_log',
  'fd_write',
  'fd_read',
  'fd_seek',
  'fd_close',
  'fd_fdstat_get',
  'clock_time_get',
  'random_get',
  'environ_get',
  'environ_sizes_get',
  'args_get',
  'args_sizes_get',
  'poll_oneoff',
  'proc_exit',
  'pthread_equal',
  'emscripten_notify_memory_growth',
]);

/** Hostcalls allowed while the host re-enters the module's allocator. */
export const MALLOC_ALLOWED = new Set(['proxy_log', 'fd_write', 'clock_time_get', 'poll_oneoff']);
