// Counter / Gauge / Histogram. Define them in onConfigure (Envoy takes a symbol-table lock in
// proxy_define_metric), keep them in fields, and update them per request: each update is one host
// call with no allocation. The ABI has no tags: encode them in the name ("name.key=value") and
// let stats_tags extract them. A metric whose definition failed has id 0 and `ok` false; its
// updates then return NotFound instead of trapping.
import { MetricType, WasmResult } from "./types";
import { proxy_define_metric, proxy_get_metric, proxy_increment_metric, proxy_record_metric } from "./imports";
import { putLen, putString, resetExchange, retA } from "./memory";

export class Metric {
  readonly id: u32;
  readonly defineStatus: WasmResult;
  constructor(public readonly type: MetricType, public readonly name: string) {
    resetExchange();
    const n = putString(name);
    const s = <WasmResult>proxy_define_metric(type, n, putLen, retA);
    this.defineStatus = s;
    this.id = s == WasmResult.Ok ? load<u32>(retA) : 0;
  }
  get ok(): bool {
    return this.defineStatus == WasmResult.Ok;
  }
  /** Current (process-wide, all workers) value; 0 when unavailable (e.g. histograms). */
  value(): u64 {
    if (proxy_get_metric(this.id, retA) != WasmResult.Ok) return 0;
    return load<u64>(retA);
  }
}

export class Counter extends Metric {
  constructor(name: string) {
    super(MetricType.Counter, name);
  }
  /** Adds `delta` (> 0; Envoy rejects 0 and negatives with BadArgument). */
  increment(delta: u64 = 1): WasmResult {
    return <WasmResult>proxy_increment_metric(this.id, <i64>delta);
  }
}

export class Gauge extends Metric {
  constructor(name: string) {
    super(MetricType.Gauge, name);
  }
  set(value: u64): WasmResult {
    return <WasmResult>proxy_record_metric(this.id, value);
  }
  /** Adds a signed delta. */
  add(delta: i64): WasmResult {
    return <WasmResult>proxy_increment_metric(this.id, delta);
  }
}

export class Histogram extends Metric {
  constructor(name: string) {
    super(MetricType.Histogram, name);
  }
  record(value: u64): WasmResult {
    return <WasmResult>proxy_record_metric(this.id, value);
  }
}
