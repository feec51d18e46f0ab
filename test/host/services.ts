// What a VM needs from the process around it (Envoy's server-wide state): logging, clock,
// shared data/queues, stats, clusters and outgoing calls. ProxyWasmHost implements it.
import type { LogLevel } from './abi.js';
import type { MetricStore } from './metrics.js';
import type { SharedState } from './shared.js';
import type { CallRouter } from './calls.js';
import type { Context, WasmVm } from './vm.js';

export interface HostServices {
  readonly metrics: MetricStore;
  readonly shared: SharedState;
  readonly calls: CallRouter;
  /** The `wasm` logger level (get_log_level). */
  readonly logLevel: LogLevel;
  /** Wall clock in ns (controllable: starts at real time, moves only with host.advance()). */
  nowNs(): bigint;
  /** Monotonic clock in ns (also moved by host.advance()). */
  monotonicNs(): bigint;
  /** Records a log line of `ctx`'s plugin; `always` bypasses the level filter (host's own errors). */
  log(vm: WasmVm, ctx: Context, level: LogLevel, message: string, always?: boolean): void;
  onVmFailed(vm: WasmVm): void;
  /** Optional record of every call into a module (host option `trace`). */
  traceCall?(vm: WasmVm, fn: string, args: readonly number[]): void;
}
