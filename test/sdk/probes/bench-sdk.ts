// Fixture of test/bench/sdk.ts (and a loadability check in wasm-modules.test.ts): one module,
// several roots, so every variant carries the same code. root_id selects the per-request work:
//   "passthrough"  root creates no HTTP context (the SDK only dispatches)
//   "noop-http"    an HttpContext with the default callbacks (one object per request)
//   "read-headers" reads :method and :path in onRequestHeaders (a typical rule prefilter)
export * from "../../../filters/sdk/exports";
import { FilterHeadersStatus, HttpContext, RootContext, registerRootContext, requestHeaders } from "../../../filters/sdk";

class PassthroughRoot extends RootContext {}

class NoopRoot extends RootContext {
  createHttpContext(id: u32): HttpContext | null {
    return new HttpContext(id, this);
  }
}

class ReadHeadersRoot extends RootContext {
  seen: i32 = 0;
  createHttpContext(id: u32): HttpContext | null {
    return new ReadHeadersStream(id, this);
  }
}

class ReadHeadersStream extends HttpContext {
  constructor(id: u32, public readonly owner: ReadHeadersRoot) {
    super(id, owner);
  }
  onRequestHeaders(n: u32, eos: bool): FilterHeadersStatus {
    const method = requestHeaders.get(":method");
    const path = requestHeaders.get(":path");
    if (method !== null && path !== null && method.length + path.length > 0) this.owner.seen++;
    return FilterHeadersStatus.Continue;
  }
}

function passthrough(id: u32): RootContext {
  return new PassthroughRoot(id);
}
function noopHttp(id: u32): RootContext {
  return new NoopRoot(id);
}
function readHeaders(id: u32): RootContext {
  return new ReadHeadersRoot(id);
}

registerRootContext(passthrough, "passthrough");
registerRootContext(noopHttp, "noop-http");
registerRootContext(readHeaders, "read-headers");
