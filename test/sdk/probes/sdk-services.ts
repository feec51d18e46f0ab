// SDK probe: shared data with CAS, shared queues, metrics, bodies, local reply, close stream,
// set_property, time, foreign functions, tick, deferred root teardown (onDone false → done()).
// Every status Envoy returns in normal operation (CasMismatch, Empty, NotFound, BadArgument) comes
// back as a value and is reported in `x-r-*` response headers; nothing here may trap.
export * from "../../../filters/sdk/exports";
import {
  Counter, FilterDataStatus, FilterHeadersStatus, Gauge, HeaderPair, Histogram, HttpContext, RootContext, WasmResult,
  callForeignFunction, dequeueSharedQueue, done, enqueueSharedQueue, foreignFunctionArguments,
  getCurrentTimeNanoseconds, getPropertyString, getSharedData, log, registerRootContext, registerSharedQueue, requestBody, requestHeaders,
  resolveSharedQueue, responseBody, responseHeaders, setProperty, setSharedData, vmConfiguration,
} from "../../../filters/sdk";

const QUEUE = "sdk-services-queue";

function s(r: WasmResult): string {
  return (<i32>r).toString();
}

class ServicesRoot extends RootContext {
  queueId: u32 = 0;
  requests: Counter | null = null;
  inFlight: Gauge | null = null;
  sizes: Histogram | null = null;
  ticks: Counter | null = null;
  dequeued: i32 = 0;
  donePending: bool = false;

  onVmStart(size: u32): bool {
    const vm = vmConfiguration.text();
    log.info("services vm_start config " + (vm === null ? "(none)" : vm));
    return true;
  }
  onConfigure(size: u32): bool {
    const q = registerSharedQueue(QUEUE);
    this.queueId = q.value;
    this.requests = new Counter("sdk_services.requests");
    this.inFlight = new Gauge("sdk_services.in_flight");
    this.sizes = new Histogram("sdk_services.request_bytes");
    this.ticks = new Counter("sdk_services.ticks");
    this.setTickPeriod(100);
    log.info("services configured queue status " + s(q.status) + " id " + q.value.toString());
    return q.ok;
  }
  onTick(): void {
    const t = this.ticks;
    if (t !== null) t.increment();
    if (this.donePending) {
      log.info("services root finishing: done() " + s(done()));
      this.donePending = false;
    }
  }
  onQueueReady(queueId: u32): void {
    let last = dequeueSharedQueue(queueId);
    let items = "";
    while (last.ok) {
      this.dequeued++;
      items += String.UTF8.decode(last.bytes!) + ";";
      last = dequeueSharedQueue(queueId);
    }
    log.info("services queue ready " + queueId.toString() + " items " + items + " then status " + s(last.status));
  }
  onForeignFunction(functionId: u32, argsSize: u32): void {
    const args = foreignFunctionArguments.text();
    log.info("services foreign function " + functionId.toString() + " args " + (args === null ? "(null)" : args));
  }
  onDone(): bool {
    this.donePending = true;
    log.info("services root on_done: finishing later");
    return false;
  }
  onDelete(): void {
    log.info("services root on_delete");
  }
  createHttpContext(id: u32): HttpContext | null {
    return new ServicesStream(id, this);
  }
}

class ServicesStream extends HttpContext {
  report: Array<HeaderPair> = [];
  constructor(id: u32, public readonly services: ServicesRoot) {
    super(id, services);
  }

  onRequestHeaders(n: u32, eos: bool): FilterHeadersStatus {
    const svc = this.services;
    if (svc.requests !== null) svc.requests!.increment();
    if (svc.inFlight !== null) svc.inFlight!.add(1);
    if (requestHeaders.has("x-cas")) this.casRound(requestHeaders.get("x-cas")!);
    const enqueue = requestHeaders.get("x-enqueue");
    if (enqueue !== null) {
      const q = resolveSharedQueue("", QUEUE);
      this.report.push(new HeaderPair("x-r-resolve", s(q.status)));
      this.report.push(new HeaderPair("x-r-enqueue", s(enqueueSharedQueue(q.value, String.UTF8.encode(enqueue)))));
      this.report.push(new HeaderPair("x-r-resolve-missing", s(resolveSharedQueue("", "no-such-queue").status)));
      this.report.push(new HeaderPair("x-r-dequeue-bad-id", s(dequeueSharedQueue(0xfff0).status)));
    }
    if (requestHeaders.has("x-foreign")) {
      const r = callForeignFunction(requestHeaders.get("x-foreign")!, String.UTF8.encode("args"));
      this.report.push(new HeaderPair("x-r-foreign", s(r.status)));
    }
    if (requestHeaders.has("x-deny")) {
      this.sendLocalResponse(403, "denied by probe", String.UTF8.encode("denied"), [new HeaderPair("x-denied", "yes")]);
      return FilterHeadersStatus.StopIteration;
    }
    if (requestHeaders.has("x-throw")) throw new Error("probe asked to throw"); // ⇒ sdk_abort
    if (requestHeaders.has("x-close")) {
      this.closeRequest();
      return FilterHeadersStatus.StopIteration;
    }
    this.report.push(new HeaderPair("x-r-set-property", s(setProperty(["sdk_probe"], String.UTF8.encode("v")))));
    const back = getPropertyString(["sdk_probe"]); // Envoy reads unknown names from filter state wasm.<name>
    this.report.push(new HeaderPair("x-r-get-property", back === null ? "(null)" : back));
    const now = getCurrentTimeNanoseconds();
    this.report.push(new HeaderPair("x-r-time-ms", (now / 1_000_000).toString()));
    return FilterHeadersStatus.Continue;
  }

  casRound(key: string): void {
    const first = getSharedData(key);
    this.report.push(new HeaderPair("x-r-cas-get", s(first.status)));
    // Unconditional write, then a conditional write with the fresh token, then with the stale one.
    this.report.push(new HeaderPair("x-r-cas-set", s(setSharedData(key, String.UTF8.encode("1")))));
    const fresh = getSharedData(key);
    this.report.push(new HeaderPair("x-r-cas-value", fresh.bytes === null ? "(null)" : String.UTF8.decode(fresh.bytes!)));
    this.report.push(new HeaderPair("x-r-cas-fresh", s(setSharedData(key, String.UTF8.encode("2"), fresh.cas))));
    this.report.push(new HeaderPair("x-r-cas-stale", s(setSharedData(key, String.UTF8.encode("3"), fresh.cas))));
  }

  onRequestBody(size: u32, eos: bool): FilterDataStatus {
    if (!eos) return FilterDataStatus.StopIterationAndBuffer;
    const svc = this.services;
    if (svc.sizes !== null) svc.sizes!.record(<u64>size);
    const body = requestBody.text();
    this.report.push(new HeaderPair("x-r-request-body", body === null ? "(null)" : body));
    this.report.push(new HeaderPair("x-r-request-body-size", requestBody.size().toString()));
    requestBody.append(String.UTF8.encode("+appended"));
    requestBody.prepend(String.UTF8.encode("prepended+"));
    return FilterDataStatus.Continue;
  }

  onResponseHeaders(n: u32, eos: bool): FilterHeadersStatus {
    for (let i = 0; i < this.report.length; i++) responseHeaders.add(this.report[i].key, this.report[i].value);
    const svc = this.services;
    if (svc.requests !== null) responseHeaders.add("x-r-requests", svc.requests!.value().toString());
    responseHeaders.remove("content-length"); // the body changes below
    return FilterHeadersStatus.Continue;
  }

  onResponseBody(size: u32, eos: bool): FilterDataStatus {
    if (eos) responseBody.replace(String.UTF8.encode("replaced by probe"));
    return FilterDataStatus.Continue;
  }

  onDone(): bool {
    const svc = this.services;
    if (svc.inFlight !== null) svc.inFlight!.add(-1);
    return true;
  }
}

function createRoot(id: u32): RootContext {
  return new ServicesRoot(id);
}

registerRootContext(createRoot, "services");
