// Conformance probe: a tiny interpreter that runs, in each callback, a script of RAW hostcalls and
// logs every status and value, so tests can assert one Envoy behaviour per line.
//
// Scripts come from the plugin configuration (read in on_configure, the only place it is readable)
// and, for on_vm_start, from the vm configuration. One line per callback:
//   request_headers: get_header 0 :path; add_header 0 x-a 1; return 1
// Ops and args are separated by "; " and " "; "%20", "%00", "%3B" … decode to bytes. "$" is the
// last numeric result, "$ctx" the current context id, "$root" the root context id, "$a"/"$b" the
// callback's first two arguments (e.g. size and end_of_stream); "!x" is 1 when x is 0, else 0.
// Each op logs "<callback> <op> => <status>[ <value>]"; each callback first logs
// "@<callback> ctx=<id> <args…>".
export * from "../../../filters/sdk/exports";
import { GrpcStatus, HttpContext, PeerType, RootContext, TcpContext, registerRootContext } from "../../../filters/sdk";
import * as abi from "../../../filters/sdk/imports";
import { resetExchange, retA, retB, retC, takeBytes } from "../../../filters/sdk/memory";

@external("wasi_snapshot_preview1", "fd_write")
declare function wasi_fd_write(fd: u32, iovs: usize, iovsLen: u32, written: usize): u32;
@external("wasi_snapshot_preview1", "clock_time_get")
declare function wasi_clock_time_get(id: u32, precision: u64, ret: usize): u32;
@external("wasi_snapshot_preview1", "random_get")
declare function wasi_random_get(buf: usize, len: u32): u32;
@external("wasi_snapshot_preview1", "environ_sizes_get")
declare function wasi_environ_sizes_get(count: usize, size: usize): u32;
@external("wasi_snapshot_preview1", "environ_get")
declare function wasi_environ_get(ptrs: usize, buf: usize): u32;
@external("wasi_snapshot_preview1", "args_sizes_get")
declare function wasi_args_sizes_get(count: usize, size: usize): u32;
@external("wasi_snapshot_preview1", "proc_exit")
declare function wasi_proc_exit(code: u32): void;
@external("wasi_snapshot_preview1", "fd_read")
declare function wasi_fd_read(fd: u32, iovs: usize, iovsLen: u32, read: usize): u32;

const scripts = new Map<string, string>();
let last: i64 = 0;
let curCtx: u32 = 0;
let curRoot: u32 = 0;
let retVal: i64 = -1;
let cbA: i64 = 0;
let cbB: i64 = 0;

function say(msg: string): void {
  const b = String.UTF8.encode(msg);
  abi.proxy_log(5, changetype<usize>(b), <usize>b.byteLength); // critical: visible at any logger level below "off"
}

function hex(b: ArrayBuffer): string {
  const u = Uint8Array.wrap(b);
  let s = "";
  for (let i = 0; i < u.length; i++) {
    const v = u[i];
    s += (v < 16 ? "0" : "") + v.toString(16);
  }
  return s;
}

/** Percent-decoding into bytes (so args can carry NUL, spaces, semicolons). */
function bytes(s: string): ArrayBuffer {
  const raw = Uint8Array.wrap(String.UTF8.encode(s));
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] == 0x25 && i + 2 < raw.length) {
      out[n++] = <u8>I32.parseInt(String.fromCharCodes([raw[i + 1], raw[i + 2]]), 16);
      i += 2;
    } else out[n++] = raw[i];
  }
  return out.slice(0, n).buffer;
}

function num(s: string): i64 {
  if (s.startsWith("!")) return num(s.substring(1)) == 0 ? 1 : 0;
  if (s == "$") return last;
  if (s == "$a") return cbA;
  if (s == "$b") return cbB;
  if (s == "$ctx") return curCtx;
  if (s == "$root") return curRoot;
  return I64.parseInt(s, 10);
}

/** "k=v,k2=v2" → pairs wire format (strict layout, see reference §1.5). */
function pairs(s: string): ArrayBuffer {
  const items = s.length ? s.split(",") : new Array<string>(0);
  const keys = new Array<ArrayBuffer>(0);
  const vals = new Array<ArrayBuffer>(0);
  let size = 4 + items.length * 8;
  for (let i = 0; i < items.length; i++) {
    const eq = items[i].indexOf("=");
    const k = bytes(items[i].substring(0, eq));
    const v = bytes(items[i].substring(eq + 1));
    keys.push(k);
    vals.push(v);
    size += k.byteLength + v.byteLength + 2;
  }
  const out = new ArrayBuffer(size);
  const p = changetype<usize>(out);
  store<u32>(p, items.length);
  let pos: usize = 4 + items.length * 8;
  for (let i = 0; i < items.length; i++) {
    store<u32>(p + 4 + i * 8, keys[i].byteLength);
    store<u32>(p + 8 + i * 8, vals[i].byteLength);
    memory.copy(p + pos, changetype<usize>(keys[i]), keys[i].byteLength);
    pos += keys[i].byteLength + 1;
    memory.copy(p + pos, changetype<usize>(vals[i]), vals[i].byteLength);
    pos += vals[i].byteLength + 1;
  }
  return out;
}

/** Decodes a pairs blob for logging as "k=v,k=v". */
function showPairs(b: ArrayBuffer): string {
  if (b.byteLength < 4) return "";
  const p = changetype<usize>(b);
  const n = load<u32>(p);
  let pos: usize = 4 + n * 8;
  let s = "";
  for (let i: u32 = 0; i < n; i++) {
    const kl = load<u32>(p + 4 + i * 8);
    const vl = load<u32>(p + 8 + i * 8);
    s += (i ? "," : "") + String.UTF8.decodeUnsafe(p + pos, kl) + "=" + String.UTF8.decodeUnsafe(p + pos + kl + 1, vl);
    pos += kl + vl + 2;
  }
  return s;
}

function out(): ArrayBuffer {
  return takeBytes(load<u32>(retA), load<u32>(retB));
}
function outText(): string {
  return String.UTF8.decode(out());
}

let a: string[] = [];
function arg(i: i32): string {
  return i < a.length ? a[i] : "";
}

function exec(line: string): string {
  a = line.split(" ");
  const op = a[0];
  resetExchange();
  store<u64>(retA, 0);
  store<u64>(retB, 0);
  store<u64>(retC, 0);
  let st: u32 = 0;
  if (op == "return") {
    retVal = num(arg(1));
    return "";
  }
  if (op == "trap") unreachable();
  if (op == "log") {
    const m = bytes(arg(2));
    st = abi.proxy_log(<u32>num(arg(1)), changetype<usize>(m), m.byteLength);
    return st.toString();
  }
  if (op == "get_log_level") {
    st = abi.proxy_get_log_level(retA);
    return st.toString() + " " + load<u32>(retA).toString();
  }
  if (op == "get_header") {
    const k = bytes(arg(2));
    st = abi.proxy_get_header_map_value(<u32>num(arg(1)), changetype<usize>(k), k.byteLength, retA, retB);
    return st.toString() + (st == 0 ? " " + outText() : "");
  }
  if (op == "get_header_size") {
    // Length and last byte only: for large values that make the host grow memory inside malloc.
    const k = bytes(arg(2));
    st = abi.proxy_get_header_map_value(<u32>num(arg(1)), changetype<usize>(k), k.byteLength, retA, retB);
    const v = Uint8Array.wrap(out());
    return st.toString() + " " + v.length.toString() + " " + (v.length ? String.fromCharCode(v[v.length - 1]) : "");
  }
  if (op == "memory_pages") return memory.size().toString();
  if (op == "get_pairs") {
    st = abi.proxy_get_header_map_pairs(<u32>num(arg(1)), retA, retB);
    const ptr0 = load<u32>(retA) == 0 && load<u32>(retB) == 0;
    return st.toString() + (ptr0 ? " ptr0" : " " + showPairs(out()));
  }
  if (op == "map_size") {
    st = abi.proxy_get_header_map_size(<u32>num(arg(1)), retA);
    return st.toString() + " " + load<u32>(retA).toString();
  }
  if (op == "add_header" || op == "replace_header") {
    const k = bytes(arg(2));
    const v = bytes(arg(3));
    st =
      op == "add_header"
        ? abi.proxy_add_header_map_value(<u32>num(arg(1)), changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength)
        : abi.proxy_replace_header_map_value(<u32>num(arg(1)), changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
    return st.toString();
  }
  if (op == "remove_header") {
    const k = bytes(arg(2));
    return abi.proxy_remove_header_map_value(<u32>num(arg(1)), changetype<usize>(k), k.byteLength).toString();
  }
  if (op == "set_pairs" || op == "set_pairs_raw") {
    const p = op == "set_pairs" ? pairs(arg(2)) : bytes(arg(2));
    return abi.proxy_set_header_map_pairs(<u32>num(arg(1)), changetype<usize>(p), p.byteLength).toString();
  }
  if (op == "get_buffer") {
    st = abi.proxy_get_buffer_bytes(<u32>num(arg(1)), <u32>num(arg(2)), <u32>num(arg(3)), retA, retB);
    const ptr0 = load<u32>(retA) == 0 && load<u32>(retB) == 0;
    return st.toString() + (ptr0 ? " ptr0" : " " + outText());
  }
  if (op == "buffer_status") {
    st = abi.proxy_get_buffer_status(<u32>num(arg(1)), retA, retB);
    return st.toString() + " " + load<u32>(retA).toString() + " " + load<u32>(retB).toString();
  }
  if (op == "set_buffer") {
    const d = bytes(arg(4));
    return abi.proxy_set_buffer_bytes(<u32>num(arg(1)), <u32>num(arg(2)), <u32>num(arg(3)), changetype<usize>(d), d.byteLength).toString();
  }
  if (op == "get_property") {
    const p = bytes(arg(1));
    st = abi.proxy_get_property(changetype<usize>(p), p.byteLength, retA, retB);
    return st.toString() + (st == 0 ? " " + hex(out()) : "");
  }
  if (op == "set_property") {
    const p = bytes(arg(1));
    const v = bytes(arg(2));
    return abi.proxy_set_property(changetype<usize>(p), p.byteLength, changetype<usize>(v), v.byteLength).toString();
  }
  if (op == "local_reply") {
    const body = bytes(arg(2));
    const details = bytes(arg(3));
    const h = pairs(arg(4));
    const grpc = a.length > 5 ? <i32>num(arg(5)) : -1;
    st = abi.proxy_send_local_response(<u32>num(arg(1)), changetype<usize>(details), details.byteLength, changetype<usize>(body), body.byteLength, changetype<usize>(h), h.byteLength, grpc);
    return st.toString();
  }
  if (op == "continue") return abi.proxy_continue_stream(<u32>num(arg(1))).toString();
  if (op == "close") return abi.proxy_close_stream(<u32>num(arg(1))).toString();
  if (op == "http_call") {
    const c = bytes(arg(1));
    const h = pairs(arg(2));
    const b = bytes(arg(3));
    const t = pairs(arg(5));
    st = abi.proxy_http_call(changetype<usize>(c), c.byteLength, changetype<usize>(h), h.byteLength, changetype<usize>(b), b.byteLength, changetype<usize>(t), t.byteLength, <u32>num(arg(4)), retA);
    last = load<u32>(retA);
    return st.toString() + " " + last.toString();
  }
  if (op == "grpc_call" || op == "grpc_stream") {
    const c = bytes(arg(1));
    const s = bytes(arg(2));
    const m = bytes(arg(3));
    const md = pairs(arg(4));
    if (op == "grpc_call") {
      const msg = bytes(arg(5));
      st = abi.proxy_grpc_call(changetype<usize>(c), c.byteLength, changetype<usize>(s), s.byteLength, changetype<usize>(m), m.byteLength, changetype<usize>(md), md.byteLength, changetype<usize>(msg), msg.byteLength, <u32>num(arg(6)), retA);
    } else {
      st = abi.proxy_grpc_stream(changetype<usize>(c), c.byteLength, changetype<usize>(s), s.byteLength, changetype<usize>(m), m.byteLength, changetype<usize>(md), md.byteLength, retA);
    }
    last = load<u32>(retA);
    return st.toString() + " " + last.toString();
  }
  if (op == "grpc_send") {
    const msg = bytes(arg(2));
    return abi.proxy_grpc_send(<u32>num(arg(1)), changetype<usize>(msg), msg.byteLength, <u32>num(arg(3))).toString();
  }
  if (op == "grpc_close") return abi.proxy_grpc_close(<u32>num(arg(1))).toString();
  if (op == "grpc_cancel") return abi.proxy_grpc_cancel(<u32>num(arg(1))).toString();
  if (op == "get_status") {
    st = abi.proxy_get_status(retC, retA, retB);
    return st.toString() + " " + load<u32>(retC).toString() + " " + outText();
  }
  if (op == "set_shared") {
    const k = bytes(arg(1));
    const v = bytes(arg(2));
    return abi.proxy_set_shared_data(changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength, <u32>num(arg(3))).toString();
  }
  if (op == "get_shared") {
    const k = bytes(arg(1));
    st = abi.proxy_get_shared_data(changetype<usize>(k), k.byteLength, retA, retB, retC);
    const cas = load<u32>(retC);
    last = cas;
    return st.toString() + (st == 0 ? " " + outText() + " " + cas.toString() : "");
  }
  if (op == "register_queue" || op == "resolve_queue") {
    const vm = bytes(arg(1));
    const n = bytes(arg(op == "register_queue" ? 1 : 2));
    st =
      op == "register_queue"
        ? abi.proxy_register_shared_queue(changetype<usize>(n), n.byteLength, retC)
        : abi.proxy_resolve_shared_queue(changetype<usize>(vm), vm.byteLength, changetype<usize>(n), n.byteLength, retC);
    last = load<u32>(retC);
    return st.toString() + " " + last.toString();
  }
  if (op == "enqueue") {
    const v = bytes(arg(2));
    return abi.proxy_enqueue_shared_queue(<u32>num(arg(1)), changetype<usize>(v), v.byteLength).toString();
  }
  if (op == "dequeue") {
    st = abi.proxy_dequeue_shared_queue(<u32>num(arg(1)), retA, retB);
    return st.toString() + (st == 0 ? " " + outText() : "");
  }
  if (op == "define_metric") {
    const n = bytes(arg(2));
    st = abi.proxy_define_metric(<u32>num(arg(1)), changetype<usize>(n), n.byteLength, retC);
    last = load<u32>(retC);
    return st.toString() + " " + last.toString();
  }
  if (op == "increment_metric") return abi.proxy_increment_metric(<u32>num(arg(1)), num(arg(2))).toString();
  if (op == "record_metric") return abi.proxy_record_metric(<u32>num(arg(1)), <u64>num(arg(2))).toString();
  if (op == "get_metric") {
    st = abi.proxy_get_metric(<u32>num(arg(1)), retA);
    return st.toString() + " " + load<u64>(retA).toString();
  }
  if (op == "set_tick") return abi.proxy_set_tick_period_milliseconds(<u32>num(arg(1))).toString();
  if (op == "get_time") {
    st = abi.proxy_get_current_time_nanoseconds(retA);
    return st.toString() + " " + load<u64>(retA).toString();
  }
  if (op == "set_effective") return abi.proxy_set_effective_context(<u32>num(arg(1))).toString();
  if (op == "done") return abi.proxy_done().toString();
  if (op == "foreign") {
    // foreign <name> [args]: the result (if any) is logged as hex.
    const n = bytes(arg(1));
    const args = bytes(arg(2));
    st = abi.proxy_call_foreign_function(changetype<usize>(n), n.byteLength, changetype<usize>(args), args.byteLength, retA, retB);
    return st.toString() + (st == 0 ? " " + hex(out()) : "");
  }
  if (op == "wasi_write") {
    const d = bytes(arg(2));
    store<u32>(retA, changetype<usize>(d));
    store<u32>(retA + 4, d.byteLength);
    st = wasi_fd_write(<u32>num(arg(1)), retA, 1, retB);
    return st.toString() + " " + load<u32>(retB).toString();
  }
  if (op == "wasi_read") return wasi_fd_read(0, retA, 0, retB).toString();
  if (op == "wasi_clock") {
    st = wasi_clock_time_get(<u32>num(arg(1)), 1, retA);
    return st.toString() + " " + load<u64>(retA).toString();
  }
  if (op == "wasi_random") {
    const n = <i32>num(arg(1));
    const buf = new ArrayBuffer(n > 0 && n <= 65536 ? n : 1);
    return wasi_random_get(changetype<usize>(buf), <u32>n).toString();
  }
  if (op == "wasi_environ") {
    st = wasi_environ_sizes_get(retA, retB);
    const count = load<u32>(retA);
    const size = load<u32>(retB);
    const ptrs = new ArrayBuffer(<i32>count * 4 + 4);
    const buf = new ArrayBuffer(<i32>size + 1);
    const st2 = wasi_environ_get(changetype<usize>(ptrs), changetype<usize>(buf));
    let s = "";
    for (let i: u32 = 0; i < size; i++) {
      const c = load<u8>(changetype<usize>(buf) + i);
      s += c == 0 ? ";" : String.fromCharCode(c);
    }
    return st.toString() + " " + st2.toString() + " " + count.toString() + " " + s;
  }
  if (op == "wasi_args") {
    st = wasi_args_sizes_get(retA, retB);
    return st.toString() + " " + load<u32>(retA).toString();
  }
  if (op == "wasi_exit") {
    wasi_proc_exit(<u32>num(arg(1)));
    return "returned";
  }
  return "unknown-op";
}

/** Runs the script of `cb`; returns the script's `return` value or `dflt`. */
function run(cb: string, ctx: u32, root: u32, a: i64, b: i64, dflt: i64): i64 {
  curCtx = ctx;
  curRoot = root;
  cbA = a;
  cbB = b;
  retVal = dflt;
  say("@" + cb + " ctx=" + ctx.toString() + " " + a.toString() + " " + b.toString());
  if (!scripts.has(cb)) return dflt;
  const ops = scripts.get(cb).split("; ");
  for (let i = 0; i < ops.length; i++) {
    const line = ops[i].trim();
    if (line.length == 0) continue;
    const r = exec(line);
    if (r.length) say(cb + " " + line + " => " + r);
  }
  return retVal;
}

function parseScripts(text: string): void {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const c = lines[i].indexOf(": ");
    if (c > 0) scripts.set(lines[i].substring(0, c).trim(), lines[i].substring(c + 2));
  }
}

class OpsRoot extends RootContext {
  onVmStart(size: u32): bool {
    const vmc = this.vmConfiguration();
    if (vmc !== null) parseScripts(vmc);
    return run("vm_start", this.id, this.id, size, 0, 1) != 0;
  }
  onValidateConfiguration(size: u32): bool {
    return run("validate", this.id, this.id, size, 0, 1) != 0;
  }
  onForeignFunction(functionId: u32, argumentsSize: u32): void {
    run("foreign_function", this.id, this.id, functionId, argumentsSize, 0);
  }
  onConfigure(size: u32): bool {
    const pc = this.pluginConfiguration();
    if (pc !== null) parseScripts(pc);
    return run("configure", this.id, this.id, size, 0, 1) != 0;
  }
  onTick(): void {
    run("tick", this.id, this.id, 0, 0, 0);
  }
  onQueueReady(queueId: u32): void {
    run("queue_ready", this.id, this.id, queueId, 0, 0);
  }
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    run("http_call_response", this.id, this.id, token, (<i64>numHeaders << 32) | (<i64>bodySize << 16) | numTrailers, 0);
  }
  onGrpcReceiveInitialMetadata(token: u32, n: u32): void {
    run("grpc_initial", this.id, this.id, token, n, 0);
  }
  onGrpcReceive(token: u32, size: u32): void {
    run("grpc_receive", this.id, this.id, token, size, 0);
  }
  onGrpcReceiveTrailingMetadata(token: u32, n: u32): void {
    run("grpc_trailing", this.id, this.id, token, n, 0);
  }
  onGrpcClose(token: u32, status: GrpcStatus): void {
    run("grpc_close", this.id, this.id, token, status, 0);
  }
  onDone(): bool {
    return run("root_done", this.id, this.id, 0, 0, 1) != 0;
  }
  onDelete(): void {
    run("root_delete", this.id, this.id, 0, 0, 0);
  }
  createHttpContext(id: u32): HttpContext | null {
    run("create", id, this.id, 0, 0, 0);
    return new OpsStream(id, this);
  }
  createTcpContext(id: u32): TcpContext | null {
    run("create_connection", id, this.id, 0, 0, 0);
    return new OpsConnection(id, this);
  }
}

class OpsConnection extends TcpContext {
  onNewConnection(): i32 {
    return <i32>run("new_connection", this.id, this.root.id, 0, 0, 0);
  }
  onDownstreamData(size: u32, eos: bool): i32 {
    return <i32>run("downstream_data", this.id, this.root.id, size, eos ? 1 : 0, 0);
  }
  onUpstreamData(size: u32, eos: bool): i32 {
    return <i32>run("upstream_data", this.id, this.root.id, size, eos ? 1 : 0, 0);
  }
  onDownstreamConnectionClose(peer: PeerType): void {
    run("downstream_close", this.id, this.root.id, <i64>peer, 0, 0);
  }
  onUpstreamConnectionClose(peer: PeerType): void {
    run("upstream_close", this.id, this.root.id, <i64>peer, 0, 0);
  }
  onLog(): void {
    run("log", this.id, this.root.id, 0, 0, 0);
  }
  onDone(): bool {
    return run("done", this.id, this.root.id, 0, 0, 0) != 0;
  }
  onDelete(): void {
    run("delete", this.id, this.root.id, 0, 0, 0);
  }
}

class OpsStream extends HttpContext {
  onRequestHeaders(n: u32, eos: bool): i32 {
    return <i32>run("request_headers", this.id, this.root.id, n, eos ? 1 : 0, 0);
  }
  onRequestBody(size: u32, eos: bool): i32 {
    return <i32>run("request_body", this.id, this.root.id, size, eos ? 1 : 0, 0);
  }
  onRequestTrailers(n: u32): i32 {
    return <i32>run("request_trailers", this.id, this.root.id, n, 0, 0);
  }
  onRequestMetadata(n: u32): i32 {
    return <i32>run("request_metadata", this.id, this.root.id, n, 0, 0);
  }
  onResponseMetadata(n: u32): i32 {
    return <i32>run("response_metadata", this.id, this.root.id, n, 0, 0);
  }
  onResponseHeaders(n: u32, eos: bool): i32 {
    return <i32>run("response_headers", this.id, this.root.id, n, eos ? 1 : 0, 0);
  }
  onResponseBody(size: u32, eos: bool): i32 {
    return <i32>run("response_body", this.id, this.root.id, size, eos ? 1 : 0, 0);
  }
  onResponseTrailers(n: u32): i32 {
    return <i32>run("response_trailers", this.id, this.root.id, n, 0, 0);
  }
  onLog(): void {
    run("log", this.id, this.root.id, 0, 0, 0);
  }
  onDone(): bool {
    return run("done", this.id, this.root.id, 0, 0, 0) != 0;
  }
  onDelete(): void {
    run("delete", this.id, this.root.id, 0, 0, 0);
  }
}

function createRoot(id: u32): RootContext {
  return new OpsRoot(id);
}
registerRootContext(createRoot, "ops");
