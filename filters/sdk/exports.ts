// Every module export of proxy-wasm ABI 0.2.1. A filter's entry file re-exports them with ONE line:
//   export * from "../sdk/exports";
// Signatures follow proxy-wasm-cpp-host exactly (Envoy refuses a module whose export has another
// signature); every parameter and result is i32 (bool and enums compile to i32).
import "./abort";
import * as d from "./dispatcher";
import { hostAlloc } from "./memory";
import {
  FilterDataStatus, FilterHeadersStatus, FilterMetadataStatus, FilterStatus, FilterTrailersStatus, PeerType,
} from "./types";

/** ABI marker: Envoy picks the ABI version from the first export of this form. */
export function proxy_abi_version_0_2_1(): void {}

/** Allocator the host calls to hand us data (see memory.ts). */
export function malloc(size: usize): usize {
  return hostAlloc(size);
}

export function proxy_on_context_create(contextId: u32, parentId: u32): void {
  d.onContextCreate(contextId, parentId);
}
export function proxy_on_vm_start(rootId: u32, vmConfigurationSize: u32): bool {
  return d.onVmStart(rootId, vmConfigurationSize);
}
export function proxy_validate_configuration(rootId: u32, configurationSize: u32): bool {
  return d.onValidateConfiguration(rootId, configurationSize);
}
export function proxy_on_configure(rootId: u32, configurationSize: u32): bool {
  return d.onConfigure(rootId, configurationSize);
}
export function proxy_on_tick(rootId: u32): void {
  d.onTick(rootId);
}
export function proxy_on_queue_ready(rootId: u32, queueId: u32): void {
  d.onQueueReady(rootId, queueId);
}
export function proxy_on_foreign_function(rootId: u32, functionId: u32, argumentsSize: u32): void {
  d.onForeignFunction(rootId, functionId, argumentsSize);
}

export function proxy_on_new_connection(contextId: u32): FilterStatus {
  return d.onNewConnection(contextId);
}
export function proxy_on_downstream_data(contextId: u32, dataSize: u32, endOfStream: bool): FilterStatus {
  return d.onDownstreamData(contextId, dataSize, endOfStream);
}
export function proxy_on_upstream_data(contextId: u32, dataSize: u32, endOfStream: bool): FilterStatus {
  return d.onUpstreamData(contextId, dataSize, endOfStream);
}
export function proxy_on_downstream_connection_close(contextId: u32, peer: PeerType): void {
  d.onDownstreamConnectionClose(contextId, peer);
}
export function proxy_on_upstream_connection_close(contextId: u32, peer: PeerType): void {
  d.onUpstreamConnectionClose(contextId, peer);
}

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
  return d.onRequestHeaders(contextId, numHeaders, endOfStream);
}
export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: bool): FilterDataStatus {
  return d.onRequestBody(contextId, bodySize, endOfStream);
}
export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): FilterTrailersStatus {
  return d.onRequestTrailers(contextId, numTrailers);
}
export function proxy_on_request_metadata(contextId: u32, numElements: u32): FilterMetadataStatus {
  return d.onRequestMetadata(contextId, numElements);
}
export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
  return d.onResponseHeaders(contextId, numHeaders, endOfStream);
}
export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: bool): FilterDataStatus {
  return d.onResponseBody(contextId, bodySize, endOfStream);
}
export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): FilterTrailersStatus {
  return d.onResponseTrailers(contextId, numTrailers);
}
export function proxy_on_response_metadata(contextId: u32, numElements: u32): FilterMetadataStatus {
  return d.onResponseMetadata(contextId, numElements);
}

export function proxy_on_http_call_response(
  rootId: u32, token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32,
): void {
  d.onHttpCallResponse(rootId, token, numHeaders, bodySize, numTrailers);
}
export function proxy_on_grpc_receive_initial_metadata(rootId: u32, token: u32, numHeaders: u32): void {
  d.onGrpcReceiveInitialMetadata(rootId, token, numHeaders);
}
export function proxy_on_grpc_receive(rootId: u32, token: u32, messageSize: u32): void {
  d.onGrpcReceive(rootId, token, messageSize);
}
export function proxy_on_grpc_receive_trailing_metadata(rootId: u32, token: u32, numTrailers: u32): void {
  d.onGrpcReceiveTrailingMetadata(rootId, token, numTrailers);
}
export function proxy_on_grpc_close(rootId: u32, token: u32, statusCode: u32): void {
  d.onGrpcClose(rootId, token, statusCode);
}

export function proxy_on_done(contextId: u32): bool {
  return d.onDone(contextId);
}
export function proxy_on_log(contextId: u32): void {
  d.onLog(contextId);
}
export function proxy_on_delete(contextId: u32): void {
  d.onDelete(contextId);
}
