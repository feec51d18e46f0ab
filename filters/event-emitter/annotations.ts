// Route annotations: the event rule a route carries in its metadata
// (filter_metadata["sidecast.io/event"], read through `xds.route_metadata`). Decoded and validated
// once per route and metadata version, then cached by route name; the per-request path reads the
// property in place, finds the annotation's bytes and compares them with the cached version —
// no allocation. A route without the annotation costs one property read; an annotated route one
// more (its name). A new route configuration shows up as different bytes and is decoded again.
import { Counter, log, LogLevel } from "../sdk";
import { bytesEqual } from "./bytes";
import { annotationError, EmitterConfig, parseAnnotation, Rule } from "./config";
import { peekLen, peekProperty, peekPtr } from "./host";
import { RuleMetrics } from "./metrics";
import { annotationLen, annotationPtr, decodeStruct, findAnnotation } from "./route-metadata";

const ROUTE_METADATA_PROPERTY = String.UTF8.encode("xds\0route_metadata");
const ROUTE_NAME_PROPERTY = String.UTF8.encode("xds\0route_name");

/** Routes kept; past this the oldest entry is forgotten (decoded again when seen again). */
const MAX_ROUTES: i32 = 1024;

/** FNV-1a over [p, p + n): picks the candidate entries before the byte comparison. */
function hashOf(p: usize, n: i32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + <usize>i)) * 0x01000193;
  return h;
}

export class RouteAnnotation {
  constructor(
    /** The route name bytes (xds.route_name). */
    public route: ArrayBuffer,
    /** The annotation Struct bytes this entry was decoded from (its version). */
    public raw: ArrayBuffer,
    public hash: u32,
    /** The validated rule; null when the annotation is invalid (requests count bad_annotation). */
    public rule: Rule | null,
  ) {}

  private shadow: u64 = 0;
  private shadowKnown: bool = false;

  /**
   * Precedence: plugin-config rules (the control plane's) win over the route's annotation. The
   * bits of the plugin rules with the annotation's event type: when one of them matches an
   * exchange, the annotation does not emit for it (no duplicate event).
   */
  shadowIn(cfg: EmitterConfig): u64 {
    if (this.shadowKnown) return this.shadow;
    const rule = this.rule;
    if (rule !== null) {
      const t = rule.typeJson;
      for (let i = 0; i < cfg.rules.length; i++) {
        const o = unchecked(cfg.rules[i]).typeJson;
        if (bytesEqual(changetype<usize>(o), o.byteLength, changetype<usize>(t), t.byteLength)) this.shadow |= (<u64>1) << <u64>i;
      }
    }
    this.shadowKnown = true;
    return this.shadow;
  }
}

export class RouteAnnotations {
  entries: Array<RouteAnnotation> = [];
  /** Requests on routes whose annotation is invalid, not yet published. */
  badPending: u64 = 0;
  /** Scratch for current(): entries whose bytes match, before the route name is read. */
  private candidates: StaticArray<i32> = new StaticArray<i32>(MAX_ROUTES);
  /** Rule name of each metrics slot annotation rules use (slot index = position in `metrics`). */
  private slotNames: Map<string, i32> = new Map<string, i32>();

  /** `metrics`: the emitter's per-rule metrics; an annotation rule gets a slot there by its name. */
  constructor(private metrics: Array<RuleMetrics>) {}

  /**
   * The annotation of the current request's route, or null when it has none. Host calls and reads
   * in place; decodes and allocates only for a route or version not seen before.
   */
  current(): RouteAnnotation | null {
    if (!peekProperty(ROUTE_METADATA_PROPERTY) || peekLen == 0) return null;
    if (!findAnnotation(peekPtr, peekLen)) return null;
    const p = annotationPtr;
    const n = annotationLen;
    const h = hashOf(p, n);
    // Entries with these exact bytes, found while the property value is still in place.
    const list = this.entries;
    const cand = this.candidates;
    let found = 0;
    for (let i = 0; i < list.length; i++) {
      const e = unchecked(list[i]);
      if (e.hash == h && bytesEqual(changetype<usize>(e.raw), e.raw.byteLength, p, n)) unchecked((cand[found++] = i));
    }
    if (!peekProperty(ROUTE_NAME_PROPERTY)) return null; // Envoy serves route metadata only with a route
    for (let k = 0; k < found; k++) {
      const e = unchecked(list[unchecked(cand[k])]);
      if (bytesEqual(changetype<usize>(e.route), e.route.byteLength, peekPtr, peekLen)) {
        if (e.rule === null) this.badPending++;
        return e;
      }
    }
    return this.learn(h);
  }

  /** A route, or a new version of one: decode, validate, cache (replacing the route's old entry). */
  private learn(hash: u32): RouteAnnotation | null {
    const route = new ArrayBuffer(peekLen);
    memory.copy(changetype<usize>(route), peekPtr, <usize>peekLen);
    if (!peekProperty(ROUTE_METADATA_PROPERTY) || !findAnnotation(peekPtr, peekLen)) return null;
    const raw = new ArrayBuffer(annotationLen);
    memory.copy(changetype<usize>(raw), annotationPtr, <usize>annotationLen);
    const name = String.UTF8.decode(route);
    const tree = decodeStruct(changetype<usize>(raw), raw.byteLength);
    const rule: Rule | null = tree === null ? null : parseAnnotation(tree, name);
    if (rule === null) {
      // Once per route and version: later requests find the cached entry and are only counted.
      log.warn('sidecast event-emitter: route "' + name + '": its sidecast.io/event annotation is ignored, traffic is untouched: ' + (tree === null ? "the value is not a valid protobuf Struct" : annotationError));
      this.badPending++;
    } else {
      if (!this.slotNames.has(rule.name)) {
        this.slotNames.set(rule.name, this.metrics.length);
        this.metrics.push(new RuleMetrics(rule.name));
      }
      rule.index = this.slotNames.get(rule.name);
      if (log.enabled(LogLevel.Info)) log.info('sidecast event-emitter: route "' + name + '": annotation rule "' + rule.name + '" loaded');
    }
    // One entry per route: a new version replaces the old one.
    const list = this.entries;
    for (let i = 0; i < list.length; i++) {
      const e = unchecked(list[i]);
      if (bytesEqual(changetype<usize>(e.route), e.route.byteLength, changetype<usize>(route), route.byteLength)) {
        list.splice(i, 1);
        break;
      }
    }
    if (list.length >= MAX_ROUTES) list.shift();
    const entry = new RouteAnnotation(route, raw, hash, rule);
    list.push(entry);
    return entry;
  }

  /** Hands the bad_annotation count to Envoy (on the tick, like the matched counts). */
  publish(counter: Counter): void {
    if (this.badPending == 0) return;
    counter.increment(this.badPending);
    this.badPending = 0;
  }
}
