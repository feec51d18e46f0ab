// SDK probe: root factories chosen by plugin_root_id ("alpha", "beta"; anything else ⇒ no-op
// root), header maps inside and outside their windows, properties, on_log, level-guarded logging.
// Results are reported as `x-r-*` response headers (request data must be captured in
// onRequestHeaders: Envoy drops request headers once that callback returns).
export * from "../../../filters/sdk/exports";
import {
  Counter, FilterHeadersStatus, HeaderPair, HttpContext, LogLevel, RootContext, decodeBool, decodeF64, decodeMap,
  getProperty, getPropertyI64, getPropertyString, log, registerRootContext, requestHeaders, responseHeaders,
} from "../../../filters/sdk";

const PATH: string[] = ["request", "path"];
const MISSING: string[] = ["request", "no_such_attribute"];
const ROUTE: string[] = ["xds", "route_name"];
const RESPONSE_CODE: string[] = ["response", "code"];
const REQUEST_TIME: string[] = ["request", "time"];
const MTLS: string[] = ["connection", "mtls"];
const RATIO: string[] = ["sdk", "ratio"];
const LABELS: string[] = ["sdk", "labels"];

class AlphaRoot extends RootContext {
  requests: Counter | null = null;
  onConfigure(size: u32): bool {
    const config = this.pluginConfiguration();
    if (config !== null && config == "reject") {
      log.warn("alpha: configuration rejected on request");
      return false;
    }
    this.requests = new Counter("sdk_dispatch.alpha.requests");
    return true;
  }
  createHttpContext(id: u32): HttpContext | null {
    return new AlphaStream(id, this);
  }
}

class AlphaStream extends HttpContext {
  path: string = "";
  propertyPath: string = "";
  missing: string = "";
  missingI64: i64 = 0;
  input: string = "";
  debugBuilt: bool = false;
  constructor(id: u32, public readonly alpha: AlphaRoot) {
    super(id, alpha);
  }
  onRequestHeaders(n: u32, eos: bool): FilterHeadersStatus {
    const c = this.alpha.requests;
    if (c !== null) c.increment();
    const p = requestHeaders.get(":path");
    this.path = p === null ? "(none)" : p;
    const pp = getPropertyString(PATH);
    this.propertyPath = pp === null ? "(null)" : pp;
    this.missing = getPropertyString(MISSING) === null ? "null" : "present";
    this.missingI64 = getPropertyI64(MISSING, -7);
    const input = requestHeaders.get("X-In"); // lookups are case-insensitive in Envoy
    this.input = input === null ? "(none)" : input;
    requestHeaders.add("x-added", "1");
    requestHeaders.replace("x-replaced", "r");
    requestHeaders.remove("x-remove-me");
    if (log.enabled(LogLevel.Debug)) {
      this.debugBuilt = true; // observable: proves the string below was (not) built
      log.debug("alpha debug: path " + this.path);
    }
    return FilterHeadersStatus.Continue;
  }
  onResponseHeaders(n: u32, eos: bool): FilterHeadersStatus {
    responseHeaders.add("x-r-root", "alpha");
    responseHeaders.add("x-r-path", this.path);
    responseHeaders.add("x-r-property-path", this.propertyPath);
    responseHeaders.add("x-r-missing-property", this.missing);
    responseHeaders.add("x-r-missing-i64", this.missingI64.toString());
    responseHeaders.add("x-r-in", this.input);
    responseHeaders.add("x-r-debug-built", this.debugBuilt ? "yes" : "no");
    // Outside the request-header window: Envoy answers BadArgument / nothing; the SDK must not trap.
    const late = requestHeaders.get(":path");
    responseHeaders.add("x-r-late-get", late === null ? "null" : late);
    responseHeaders.add("x-r-late-add", (<i32>requestHeaders.add("x-late", "1")).toString());
    const route = getPropertyString(ROUTE);
    responseHeaders.add("x-r-route", route === null ? "(null)" : route);
    // Typed property decoders (Envoy serialization: int64 LE, bool 1 byte, double LE, pairs map).
    responseHeaders.add("x-r-code", getPropertyI64(RESPONSE_CODE, -1).toString());
    responseHeaders.add("x-r-time-ms", (getPropertyI64(REQUEST_TIME, -1) / 1_000_000).toString());
    responseHeaders.add("x-r-mtls", decodeBool(getProperty(MTLS)) ? "true" : "false");
    responseHeaders.add("x-r-ratio", decodeF64(getProperty(RATIO), -1).toString());
    const labels = decodeMap(getProperty(LABELS));
    let joined = "";
    for (let i = 0; i < labels.length; i++) joined += (i > 0 ? "," : "") + labels[i].key + "=" + labels[i].value;
    responseHeaders.add("x-r-labels", joined);
    // Linear memory in 64 KiB pages: must stay flat over many requests (no pinned buffer leaks).
    responseHeaders.add("x-r-memory-pages", memory.size().toString());
    return FilterHeadersStatus.Continue;
  }
  onLog(): void {
    log.info("alpha on_log " + this.id.toString() + " " + this.path);
  }
}

class BetaRoot extends RootContext {
  createHttpContext(id: u32): HttpContext | null {
    return new BetaStream(id, this);
  }
}

class BetaStream extends HttpContext {
  requestPairs: i32 = 0;
  onRequestHeaders(n: u32, eos: bool): FilterHeadersStatus {
    this.requestPairs = requestHeaders.pairs().length;
    return FilterHeadersStatus.Continue;
  }
  onResponseHeaders(n: u32, eos: bool): FilterHeadersStatus {
    const pairs = responseHeaders.pairs();
    pairs.push(new HeaderPair("x-r-root", "beta"));
    pairs.push(new HeaderPair("x-r-request-pairs", this.requestPairs.toString()));
    pairs.push(new HeaderPair("x-r-response-pairs-before", (pairs.length - 2).toString()));
    pairs.push(new HeaderPair("x-r-utf8", "grüße ✓"));
    responseHeaders.setPairs(pairs);
    responseHeaders.add("x-r-map-size", responseHeaders.byteSize().toString());
    responseHeaders.add("x-r-memory-pages", memory.size().toString());
    return FilterHeadersStatus.Continue;
  }
}

function createAlpha(id: u32): RootContext {
  return new AlphaRoot(id);
}
function createBeta(id: u32): RootContext {
  return new BetaRoot(id);
}

registerRootContext(createAlpha, "alpha");
registerRootContext(createBeta, "beta");
