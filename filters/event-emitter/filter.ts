// The emitter's contexts. EmitterRoot: one per configuration and worker VM — validates the config,
// defines metrics, owns async delivery. EmitterStream: one per HTTP exchange — prefilters, captures
// what the event needs in on_request_headers, copies bodies only for rules that need them (passing
// every chunk through at once), matches the status, builds events and hands them to the root; in
// guaranteed mode it holds the response until the bridge has accepted the event.
import {
  BufferType, FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, HeaderPair, HttpContext, LogLevel, MapType,
  RootContext, getCurrentTimeNanoseconds, log, pluginConfiguration,
} from "../sdk";
import { ByteBuf } from "./bytes";
import { RouteAnnotation, RouteAnnotations } from "./annotations";
import { configError, EmitterConfig, MAX_RULES, parseConfig, Rule } from "./config";
import { bridgeHeaders, Delivery } from "./delivery";
import { EventWriter } from "./event";
import { BodyCopy, BodyState, Exchange, findPair, foundLen, foundPtr } from "./exchange";
import { fractionOfKey } from "./ids";
import { callStatus, ReplyCursor, Result } from "./ingest-reply";
import { keepPeek, peekBuffer, peekHeader, peekLen, peekPairs, peekProperty, peekPtr } from "./host";
import { mayMatch, pathMayMatch, requestMatches } from "./match";
import { Drop, EmitterMetrics, RuleMetrics } from "./metrics";

const ROUTE_NAME_PROPERTY = String.UTF8.encode("xds\0route_name");
const STATUS = String.UTF8.encode(":status");
const CONTENT_TYPE = String.UTF8.encode("content-type");
const IDEMPOTENCY_KEY = String.UTF8.encode("idempotency-key");
const REJECT_BODY = String.UTF8.encode('{"error":"the event for this call was not accepted by the event bridge in time; retry the call"}\n');

export class EmitterRoot extends RootContext {
  cfg: EmitterConfig | null = null;
  metrics: EmitterMetrics = new EmitterMetrics();
  delivery: Delivery | null = null;
  writer: EventWriter = new EventWriter();
  /** Reused to match every request against the rules without allocating. */
  probe: Exchange = new Exchange();
  guaranteedHeaders: Array<HeaderPair> = [];
  annotations: RouteAnnotations = new RouteAnnotations(this.metrics.rules);

  onConfigure(configurationSize: u32): bool {
    const src = pluginConfiguration.bytes();
    const cfg: EmitterConfig | null = src === null ? null : parseConfig(src);
    if (cfg === null) {
      log.error("sidecast event-emitter: configuration rejected: " + (src === null ? "no plugin configuration given" : configError));
      return false;
    }
    const m = this.metrics;
    for (let i = 0; i < cfg.rules.length; i++) m.rules.push(new RuleMetrics(unchecked(cfg.rules[i]).name));
    if (cfg.routeAnnotations && cfg.rules.length >= MAX_RULES) {
      // A stream tracks rules in a 64-bit set; the route's annotation needs one of the bits.
      cfg.routeAnnotations = false;
      log.warn("sidecast event-emitter: route annotations are off: " + MAX_RULES.toString() + " rules leave no room for them (use at most " + (MAX_RULES - 1).toString() + ")");
    }
    this.writer.ids.seed(getCurrentTimeNanoseconds() ^ (<u64>this.id << 32));
    this.delivery = new Delivery(this, cfg, m, this.writer.ids);
    this.guaranteedHeaders = bridgeHeaders(cfg);
    this.cfg = cfg;
    this.setTickPeriod(cfg.flushIntervalMs);
    if (log.enabled(LogLevel.Info)) log.info("sidecast event-emitter: configured " + cfg.rules.length.toString() + " rule(s), bridge cluster " + cfg.cluster);
    return true;
  }

  onTick(): void {
    const d = this.delivery;
    if (d !== null) d.tick();
    this.metrics.publish();
    this.annotations.publish(this.metrics.badAnnotation);
  }

  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    // Batch replies; a guaranteed call whose stream is gone also lands here and is ignored (its
    // stream handed the event to delivery when it was deleted).
    const d = this.delivery;
    if (d !== null) d.onResponse(token, numHeaders, bodySize);
  }

  onDone(): bool {
    this.metrics.publish();
    this.annotations.publish(this.metrics.badAnnotation);
    const d = this.delivery;
    return d === null ? true : d.drain();
  }

  createHttpContext(contextId: u32): HttpContext | null {
    // Unconfigured (or rejected) plugin: no stream context at all, traffic passes untouched.
    const cfg = this.cfg;
    return cfg === null ? null : new EmitterStream(contextId, this, cfg);
  }

  /** Builds the event of `rule` (plugin or annotation); null when its topic came out invalid or unreadable (counted). */
  build(rule: Rule, ex: Exchange): ArrayBuffer | null {
    const cfg = this.cfg;
    const m = unchecked(this.metrics.rules[rule.index]);
    if (cfg === null || !this.writer.build(cfg, rule, ex, m, getCurrentTimeNanoseconds())) {
      m.drop(this.writer.bodyOverLimit ? Drop.BodyOverLimitForTemplate : Drop.BadTopic);
      return null;
    }
    return this.writer.out.toBytes();
  }

  enqueue(event: ArrayBuffer, rule: i32): void {
    const d = this.delivery;
    if (d !== null) d.enqueue(event, rule);
  }
}

/** Guaranteed events waiting for the bridge's ack, and the call carrying them (token 0: none). */
class Wait {
  token: u32 = 0;
  events: Array<ArrayBuffer> = [];
  rules: Array<Rule> = [];
  reject: bool = false;
}

/** A :status that is not three digits matches no status set (and renders as 0). */
function statusOf(p: usize, len: i32): i32 {
  if (len != 3) return 0;
  let status = 0;
  for (let i = 0; i < 3; i++) {
    const d = <i32>load<u8>(p + <usize>i) - 48;
    if (d < 0 || d > 9) return 0;
    status = status * 10 + d;
  }
  return status;
}

@inline function bit(i: i32): u64 {
  return (<u64>1) << <u64>i;
}

export class EmitterStream extends HttpContext {
  private ex: Exchange | null = null;
  /**
   * The route's annotation rule when it is a candidate; it takes bit `cfg.rules.length` in the
   * sets below (after the plugin rules), and `shadow` holds the plugin rules that override it.
   */
  private annot: Rule | null = null;
  private shadow: u64 = 0;
  /** Rules whose request-side conditions held (bit per rule index). */
  private candidates: u64 = 0;
  /** Candidates whose status matched too. */
  private matched: u64 = 0;
  /** Matched rules whose events are not built yet. */
  private pending: u64 = 0;
  /** The response is held (guaranteed rule whose event needs the response body). */
  private holdingBody: bool = false;
  /** Guaranteed events of this stream and their bridge call (allocated only when needed). */
  private wait: Wait | null = null;
  private headersSent: bool = false;

  constructor(id: u32, public emitter: EmitterRoot, public cfg: EmitterConfig) {
    super(id, emitter);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const cfg = this.cfg;
    const route: RouteAnnotation | null = cfg.routeAnnotations ? this.emitter.annotations.current() : null;
    const annot: Rule | null = route === null ? null : route.rule;
    const byConfig = cfg.rules.length > 0 && mayMatch(cfg);
    if (!byConfig && annot === null) return FilterHeadersStatus.Continue;
    // Matching reads the host's header block in place; it is copied only when a rule matches.
    const probe = this.emitter.probe;
    const needName = cfg.needRouteName || (annot !== null && annot.needsRouteName());
    probe.routeName = needName && peekProperty(ROUTE_NAME_PROPERTY) ? keepPeek() : null;
    if (!peekPairs(MapType.HttpRequestHeaders)) return FilterHeadersStatus.Continue;
    probe.view(peekPtr, peekLen);
    const rules = cfg.rules;
    const count = byConfig && pathMayMatch(cfg, probe) ? rules.length : 0;
    if (count == 0 && annot === null) return FilterHeadersStatus.Continue;
    let cand: u64 = 0;
    let sampledOut: u64 = 0;
    let bodyCap = -1;
    const last = annot === null ? count : rules.length + 1;
    for (let i = 0; i < last; i++) {
      if (i >= count && i < rules.length) continue;
      const r = i < rules.length ? unchecked(rules[i]) : <Rule>annot;
      if (!requestMatches(r, probe)) continue;
      if (r.sampling < 1.0 && this.sample(probe) >= r.sampling) {
        sampledOut |= bit(i);
        continue;
      }
      cand |= bit(i);
      if (r.needsRequestBody() && r.maxBodyBytes > bodyCap) bodyCap = r.maxBodyBytes;
    }
    // The probe reads host memory that the next host call releases: copy it before counting.
    const ex: Exchange | null = cand == 0 ? null : probe.keep();
    if (annot !== null) {
      this.annot = annot;
      this.shadow = (<RouteAnnotation>route).shadowIn(cfg);
    }
    if (sampledOut != 0) this.countSampledOut(sampledOut);
    if (ex === null) return FilterHeadersStatus.Continue;
    this.ex = ex;
    this.candidates = cand;
    if (bodyCap >= 0) {
      ex.wantRequestBody(bodyCap);
      if (endOfStream) ex.requestBody.add(0, 0, true);
    }
    return FilterHeadersStatus.Continue;
  }

  /** Slots in the rule sets: the plugin rules, plus the route's annotation rule when there is one. */
  private get slots(): i32 {
    return this.cfg.rules.length + (this.annot === null ? 0 : 1);
  }

  /** The rule of slot `i` (see `slots`). */
  private ruleAt(i: i32): Rule {
    const rules = this.cfg.rules;
    return i < rules.length ? unchecked(rules[i]) : <Rule>this.annot;
  }

  private countSampledOut(rules: u64): void {
    const m = this.emitter.metrics.rules;
    const n = this.slots;
    for (let i = 0; i < n; i++) if ((rules & bit(i)) != 0) unchecked(m[this.ruleAt(i).index]).sampledOut.increment();
  }

  /** Sampling draw: by Idempotency-Key when present, so a retried call is sampled the same way. */
  private sample(ex: Exchange): f64 {
    return ex.header(IDEMPOTENCY_KEY) ? fractionOfKey(foundPtr, foundLen) : this.emitter.writer.ids.fraction();
  }

  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    const ex = this.ex;
    if (ex !== null) copyChunk(ex.requestBody, BufferType.HttpRequestBody, 0, bodySize, endOfStream);
    return FilterDataStatus.Continue;
  }

  onRequestTrailers(numTrailers: u32): FilterTrailersStatus {
    const ex = this.ex;
    if (ex !== null) ex.requestBody.add(0, 0, true);
    return FilterTrailersStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const ex = this.ex;
    if (ex === null || this.matched != 0) return FilterHeadersStatus.Continue; // (a local reply of ours comes back here)
    const n = this.slots;
    // A rule that may want the response body needs content-type as well as :status: then one
    // get_header_map_pairs instead of two get_header_map_value (in proxy-wasm-cpp-host each value
    // read is a lookup plus an allocMemory call into the module, so is the whole map; docs/event-emitter.md).
    let bodyMaybe = false;
    for (let i = 0; i < n && !bodyMaybe; i++)
      if ((this.candidates & bit(i)) != 0 && this.ruleAt(i).needsResponseBody()) bodyMaybe = true;
    let status = 0;
    let contentType: ArrayBuffer | null = null;
    if (bodyMaybe) {
      if (peekPairs(MapType.HttpResponseHeaders)) {
        const p = peekPtr;
        const len = peekLen;
        if (findPair(p, len, changetype<usize>(STATUS), STATUS.byteLength)) status = statusOf(foundPtr, foundLen);
        if (findPair(p, len, changetype<usize>(CONTENT_TYPE), CONTENT_TYPE.byteLength)) {
          contentType = new ArrayBuffer(foundLen);
          memory.copy(changetype<usize>(contentType), foundPtr, <usize>foundLen);
        }
      }
    } else if (peekHeader(MapType.HttpResponseHeaders, STATUS)) status = statusOf(peekPtr, peekLen);
    ex.status = status;
    let matched: u64 = 0;
    let bodyCap = -1;
    let guaranteedNeedsBody = false;
    let bodyRules: u64 = 0;
    for (let i = 0; i < n; i++) {
      if ((this.candidates & bit(i)) == 0) continue;
      const r = this.ruleAt(i);
      if (!r.statusMatches(status)) continue;
      // Precedence: a plugin rule with the same event type that matched overrides the annotation.
      if (i == this.cfg.rules.length && (matched & this.shadow) != 0) continue;
      matched |= bit(i);
      unchecked(this.emitter.metrics.rules[r.index]).countMatched();
      if (r.needsResponseBody()) {
        bodyRules |= bit(i);
        if (r.maxBodyBytes > bodyCap) bodyCap = r.maxBodyBytes;
        if (r.guaranteed) guaranteedNeedsBody = true;
      }
    }
    this.matched = this.pending = matched;
    if (matched == 0) {
      this.ex = null; // nothing to emit: drop the capture now
      return FilterHeadersStatus.Continue;
    }
    if (bodyCap < 0 || endOfStream) {
      if (bodyCap >= 0) {
        ex.wantResponseBody(bodyCap);
        ex.responseBody.add(0, 0, true); // no body: complete and empty
      }
      return this.emit(matched) ? FilterHeadersStatus.StopIteration : FilterHeadersStatus.Continue;
    }
    if (contentType !== null) ex.responseType = contentType;
    ex.wantResponseBody(bodyCap);
    this.headersSent = true;
    if (guaranteedNeedsBody) {
      // Headers must go now (Envoy delivers no body to a filter that paused the headers); the body
      // is held until the bridge has all guaranteed events, built at its end.
      this.holdingBody = true;
      return FilterHeadersStatus.Continue;
    }
    // Rules that do not need the body are built now; a guaranteed one holds the headers (the body
    // then reaches us after the ack). The others are built when the body is complete.
    this.headersSent = false;
    if (this.emit(matched & ~bodyRules)) return FilterHeadersStatus.StopIteration;
    this.headersSent = true;
    return FilterHeadersStatus.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    const ex = this.ex;
    if (ex === null || this.pending == 0) return this.waiting() ? FilterDataStatus.StopIterationAndBuffer : FilterDataStatus.Continue;
    const copy = ex.responseBody;
    if (this.holdingBody) {
      // Envoy keeps the held body and reports its total size: copy only what is new.
      const have = copy.buf === null ? 0 : (<ByteBuf>copy.buf).len;
      copyChunk(copy, BufferType.HttpResponseBody, <u32>have, bodySize - <u32>have, endOfStream);
      if (copy.state == BodyState.TooLarge) {
        // Holding more would run into Envoy's buffer limit (a 500): give up the guarantee, let it flow.
        this.holdingBody = false;
        this.countGuaranteedFailure();
        this.emit(this.pending);
        return FilterDataStatus.Continue;
      }
    } else {
      copyChunk(copy, BufferType.HttpResponseBody, 0, bodySize, endOfStream);
    }
    if (!endOfStream) return this.holdingBody ? FilterDataStatus.StopIterationAndBuffer : FilterDataStatus.Continue;
    return this.emit(this.pending) ? FilterDataStatus.StopIterationAndBuffer : FilterDataStatus.Continue;
  }

  onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    const ex = this.ex;
    if (ex === null || this.pending == 0) return this.waiting() ? FilterTrailersStatus.StopIteration : FilterTrailersStatus.Continue;
    ex.responseBody.add(0, 0, true);
    return this.emit(this.pending) ? FilterTrailersStatus.StopIteration : FilterTrailersStatus.Continue;
  }

  onLog(): void {
    // The stream ended before the response did (reset, no body end): emit what we have.
    if (this.ex !== null && this.pending != 0) {
      this.holdingBody = false;
      this.headersSent = true;
      this.emit(this.pending);
    }
  }

  onDelete(): void {
    // A guaranteed wait cut short (client gone): the bridge may or may not have the event; hand it
    // to async delivery too (same id, so at worst a duplicate consumers can drop).
    if (this.waiting()) this.release(false);
  }

  private waiting(): bool {
    const w = this.wait;
    return w !== null && w.token != 0;
  }

  /**
   * Builds the events of the rules in `rules` (matched, not built yet): async ones go to the root's
   * queue; guaranteed ones — unless the response already flows — to the bridge in one call.
   * True ⇒ the caller must hold the response until onHttpCallResponse.
   */
  private emit(rules: u64): bool {
    const ex = this.ex;
    if (ex === null) return false;
    rules &= this.pending;
    this.pending &= ~rules;
    const n = this.slots;
    const hold = !this.headersSent || this.holdingBody;
    for (let i = 0; i < n; i++) {
      if ((rules & bit(i)) == 0) continue;
      const r = this.ruleAt(i);
      const ev = this.emitter.build(r, ex);
      if (ev === null) continue;
      if (r.guaranteed && hold) {
        let w = this.wait;
        if (w === null) this.wait = w = new Wait();
        w.events.push(ev);
        w.rules.push(r);
        if (r.rejectOnFailure) w.reject = true;
      } else {
        this.emitter.enqueue(ev, r.index);
      }
    }
    if (this.pending == 0) this.ex = null;
    const w = this.wait;
    return w !== null && w.events.length > 0 && w.token == 0 && this.callBridge(w);
  }

  /** One http_call with this stream's guaranteed events, timeout = the smallest deadline. */
  private callBridge(w: Wait): bool {
    const body = new ByteBuf(1024);
    body.byte(0x5b);
    let deadline: u32 = 60000;
    for (let k = 0; k < w.events.length; k++) {
      if (k > 0) body.byte(0x2c);
      body.bytes(unchecked(w.events[k]));
      const rule = unchecked(w.rules[k]);
      if (rule.deadlineMs < deadline) deadline = rule.deadlineMs;
      unchecked(this.emitter.metrics.rules[rule.index]).guaranteedWaits.increment();
    }
    body.byte(0x5d);
    const r = this.httpCall(this.cfg.cluster, this.emitter.guaranteedHeaders, body.toBytes(), [], deadline);
    if (!r.ok) {
      this.countGuaranteedFailure();
      this.release(false);
      return false;
    }
    w.token = r.value;
    return true;
  }

  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    const w = this.wait;
    if (w === null || token != w.token) return;
    const status = numHeaders == 0 ? 0 : callStatus();
    let ok = status >= 200 && status < 300;
    if (ok) {
      const cursor = new ReplyCursor();
      if (cursor.open(bodySize)) {
        for (let k = 0; k < w.events.length; k++) if (cursor.next() != Result.Accepted) ok = false;
      }
    }
    if (ok) {
      for (let k = 0; k < w.rules.length; k++) unchecked(this.emitter.metrics.rules[unchecked(w.rules[k]).index]).emitted.increment();
      w.events.length = 0;
      w.token = 0;
      this.headersSent = true;
      this.continueResponse();
      return;
    }
    this.countGuaranteedFailure();
    this.release(w.reject);
  }

  private countGuaranteedFailure(): void {
    const w = this.wait;
    if (w !== null) {
      for (let k = 0; k < w.rules.length; k++) unchecked(this.emitter.metrics.rules[unchecked(w.rules[k]).index]).guaranteedFailures.increment();
    } else {
      // Gave up holding before the call (body too large): count every guaranteed matched rule.
      const n = this.slots;
      for (let i = 0; i < n; i++) {
        const r = this.ruleAt(i);
        if ((this.matched & bit(i)) != 0 && r.guaranteed) unchecked(this.emitter.metrics.rules[r.index]).guaranteedFailures.increment();
      }
    }
  }

  /**
   * The bridge did not confirm in time: the events go to async delivery (the upstream side effect
   * did happen), then the response is released — or replaced by a 503 (`reject`), or reset when
   * its headers are already downstream.
   */
  private release(reject: bool): void {
    const w = this.wait;
    if (w === null) return;
    const wasWaiting = w.token != 0;
    for (let k = 0; k < w.events.length; k++) this.emitter.enqueue(unchecked(w.events[k]), unchecked(w.rules[k]).index);
    w.events.length = 0;
    w.token = 0;
    if (!wasWaiting) return;
    if (!reject) this.continueResponse();
    else if (this.headersSent) this.closeResponse();
    else this.sendLocalResponse(503, "sidecast_event_not_accepted", REJECT_BODY, [new HeaderPair("content-type", "application/json")]);
  }
}

/** Copies body bytes [start, start+len) of the current callback into `copy` (if it wants them). */
function copyChunk(copy: BodyCopy, type: BufferType, start: u32, len: u32, end: bool): void {
  if (copy.state != BodyState.Open) return;
  // A chunk past the cap would be dropped anyway: never pull it into linear memory, which never shrinks.
  if (<i64>len > <i64>copy.room()) {
    copy.overflow();
    return;
  }
  if (len == 0 || !peekBuffer(type, start, len)) copy.add(0, 0, end);
  else copy.add(peekPtr, peekLen, end);
}
