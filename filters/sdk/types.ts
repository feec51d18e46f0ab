// Enums and small value types of proxy-wasm ABI 0.2.1 (values from proxy-wasm-cpp-sdk
// proxy_wasm_common.h / proxy_wasm_enums.h). Everything here is plain data: no host calls.

/** Status returned by every host call (proxy_status_t / WasmResult). */
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
  /** Arguments of proxy_on_foreign_function (same number as CallData). */
  ForeignFunctionArguments = 8,
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

export enum FilterHeadersStatus {
  Continue = 0,
  /** Envoy converts this to StopAllIterationAndWatermark unless allow_on_headers_stop_iteration. */
  StopIteration = 1,
  ContinueAndEndStream = 2,
  StopAllIterationAndBuffer = 3,
  StopAllIterationAndWatermark = 4,
}

export enum FilterDataStatus {
  Continue = 0,
  StopIterationAndBuffer = 1,
  StopIterationAndWatermark = 2,
  StopIterationNoBuffer = 3,
}

export enum FilterTrailersStatus {
  Continue = 0,
  StopIteration = 1,
}

export enum FilterMetadataStatus {
  Continue = 0,
}

/** TCP filter status (proxy_on_new_connection / *_data). */
export enum FilterStatus {
  Continue = 0,
  StopIteration = 1,
}

export enum StreamType {
  HttpRequest = 0,
  HttpResponse = 1,
  Downstream = 2,
  Upstream = 3,
}

export enum PeerType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
  /** Returned by proxy_get_log_level when logging is off; never passed to proxy_log. */
  Off = 6,
}

export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

export enum GrpcStatus {
  Ok = 0,
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
  /** "no gRPC status" for proxy_send_local_response. */
  InvalidCode = -1,
}

/** One header / metadata entry. Keys are lowercase when they come from Envoy. */
export class HeaderPair {
  constructor(public key: string, public value: string) {}
}

/** A host call's status plus the u32 it produced (token, queue id, metric id...). */
export class U32Result {
  constructor(public status: WasmResult, public value: u32) {}
  get ok(): bool {
    return this.status == WasmResult.Ok;
  }
}

/** A host call's status plus the bytes it produced (null when none). */
export class BytesResult {
  constructor(public status: WasmResult, public bytes: ArrayBuffer | null) {}
  get ok(): bool {
    return this.status == WasmResult.Ok;
  }
}

/** Value of a shared-data key and its CAS token (pass the token back to setSharedData). */
export class SharedDataValue {
  constructor(public status: WasmResult, public bytes: ArrayBuffer | null, public cas: u32) {}
  get ok(): bool {
    return this.status == WasmResult.Ok;
  }
}

/** proxy_get_status: e.g. the gRPC status and message of a closed call. */
export class StatusWithMessage {
  constructor(public status: WasmResult, public code: u32, public message: string) {}
}
