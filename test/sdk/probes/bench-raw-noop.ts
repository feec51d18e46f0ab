// Baseline for test/bench/sdk.ts: a proxy-wasm module WITHOUT the SDK whose every callback does
// nothing (Continue). The SDK's per-request dispatch cost is measured against it.
import "../../../filters/sdk/abort"; // only for --use abort=sdk_abort (asconfig.base.json)

export function proxy_abi_version_0_2_1(): void {}
export function malloc(size: usize): usize {
  return __pin(__new(size, idof<ArrayBuffer>()));
}
export function proxy_on_context_create(id: u32, parent: u32): void {}
export function proxy_on_vm_start(root: u32, size: u32): bool {
  return true;
}
export function proxy_validate_configuration(root: u32, size: u32): bool {
  return true;
}
export function proxy_on_configure(root: u32, size: u32): bool {
  return true;
}
export function proxy_on_tick(root: u32): void {}
export function proxy_on_queue_ready(root: u32, queue: u32): void {}
export function proxy_on_foreign_function(root: u32, fn: u32, size: u32): void {}
export function proxy_on_new_connection(id: u32): u32 {
  return 0;
}
export function proxy_on_downstream_data(id: u32, size: u32, eos: bool): u32 {
  return 0;
}
export function proxy_on_upstream_data(id: u32, size: u32, eos: bool): u32 {
  return 0;
}
export function proxy_on_downstream_connection_close(id: u32, peer: u32): void {}
export function proxy_on_upstream_connection_close(id: u32, peer: u32): void {}
export function proxy_on_request_headers(id: u32, n: u32, eos: bool): u32 {
  return 0;
}
export function proxy_on_request_body(id: u32, size: u32, eos: bool): u32 {
  return 0;
}
export function proxy_on_request_trailers(id: u32, n: u32): u32 {
  return 0;
}
export function proxy_on_request_metadata(id: u32, n: u32): u32 {
  return 0;
}
export function proxy_on_response_headers(id: u32, n: u32, eos: bool): u32 {
  return 0;
}
export function proxy_on_response_body(id: u32, size: u32, eos: bool): u32 {
  return 0;
}
export function proxy_on_response_trailers(id: u32, n: u32): u32 {
  return 0;
}
export function proxy_on_response_metadata(id: u32, n: u32): u32 {
  return 0;
}
export function proxy_on_http_call_response(root: u32, token: u32, h: u32, b: u32, t: u32): void {}
export function proxy_on_grpc_receive_initial_metadata(root: u32, token: u32, n: u32): void {}
export function proxy_on_grpc_receive(root: u32, token: u32, size: u32): void {}
export function proxy_on_grpc_receive_trailing_metadata(root: u32, token: u32, n: u32): void {}
export function proxy_on_grpc_close(root: u32, token: u32, status: u32): void {}
export function proxy_on_done(id: u32): bool {
  return true;
}
export function proxy_on_log(id: u32): void {}
export function proxy_on_delete(id: u32): void {}
