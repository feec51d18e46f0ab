// Envoy stats behind proxy_define_metric: one stat per name, shared by every VM (values aggregate
// across workers), named `wasmcustom.<name>` as Envoy does (reference §2.14).
import { MetricType } from './abi.js';

const PREFIX = 'wasmcustom.';

export class MetricStore {
  private readonly types = new Map<string, MetricType>();
  private readonly values = new Map<string, bigint>();
  private readonly samples = new Map<string, bigint[]>();

  define(type: MetricType, name: string): void {
    const stat = PREFIX + name;
    if (!this.types.has(stat)) this.types.set(stat, type);
    if (type === MetricType.Histogram) this.samples.set(stat, this.samples.get(stat) ?? []);
    else this.values.set(stat, this.values.get(stat) ?? 0n);
  }
  /** Counter add / gauge add-or-subtract. */
  add(name: string, delta: bigint): void {
    const stat = PREFIX + name;
    this.values.set(stat, (this.values.get(stat) ?? 0n) + delta);
  }
  /** record_metric: counter ⇒ add, gauge ⇒ set, histogram ⇒ sample. */
  record(name: string, value: bigint): void {
    const stat = PREFIX + name;
    const type = this.types.get(stat);
    if (type === MetricType.Histogram) this.samples.get(stat)!.push(value);
    else if (type === MetricType.Gauge) this.values.set(stat, value);
    else this.add(name, value);
  }
  value(name: string): bigint | undefined {
    return this.values.get(PREFIX + name);
  }

  /** Value of a counter or gauge by Envoy stat name (`wasmcustom.x`) or by the name the filter used (`x`). */
  get(stat: string): number | undefined {
    const v = this.values.get(stat.startsWith(PREFIX) ? stat : PREFIX + stat);
    return v === undefined ? undefined : Number(v);
  }
  /** Recorded samples of a histogram (same naming as get). */
  histogram(stat: string): number[] | undefined {
    return this.samples.get(stat.startsWith(PREFIX) ? stat : PREFIX + stat)?.map(Number);
  }
  typeOf(stat: string): 'counter' | 'gauge' | 'histogram' | undefined {
    const t = this.types.get(stat.startsWith(PREFIX) ? stat : PREFIX + stat);
    return t === undefined ? undefined : (['counter', 'gauge', 'histogram'] as const)[t];
  }
  /** Every counter/gauge by Envoy stat name, e.g. { 'wasmcustom.requests': 3 }. */
  all(): Record<string, number> {
    return Object.fromEntries([...this.values].map(([k, v]) => [k, Number(v)]));
  }
  /** Prometheus exposition names: Envoy strips `wasmcustom.` and turns dots into underscores. */
  prometheusNames(): string[] {
    return [...this.types.keys()].map((k) => k.slice(PREFIX.length).replace(/[^a-zA-Z0-9_]/g, '_'));
  }
}
