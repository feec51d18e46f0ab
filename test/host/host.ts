// ProxyWasmHost: loads one .wasm the way Envoy does and plays the server around its VMs
// (clusters, clock, stats, shared state, logging). Entry point of the test API.
import { readFile } from 'node:fs/promises';
import { LOG_LEVEL_NAMES, LogLevel, type AbiMarker, type LogLevelName } from './abi.js';
import { CallRouter, type ClusterOptions, type GrpcCallRecord, type HttpCallRecord } from './calls.js';
import { MetricStore } from './metrics.js';
import { Plugin, type LogRecord, type PluginOptions } from './plugin.js';
import type { HostServices } from './services.js';
import { SharedState } from './shared.js';
import { WasmVm, type Context, type RootContext } from './vm.js';
import { checkLoadable, readModuleInfo, WasmLoadError, type ModuleInfo } from './wasm-module.js';

export interface HostOptions {
  /** Envoy's `wasm` logger level (get_log_level; lines below it are dropped). Default info. */
  logLevel?: LogLevelName;
  /** Wall clock start (ms since epoch). Default Date.now() at load. */
  startTimeMs?: number;
  /** Record every call into the module in `host.trace` (lifecycle-order assertions). */
  trace?: boolean;
  /**
   * Keep every http call (with its body) in `host.httpCalls`. Default true; a long benchmark that
   * answers each call itself turns it off, so that answered calls can be garbage-collected.
   */
  callLog?: boolean;
}

/** One call into the module, for order assertions: `{ vm: 'worker0', fn: 'proxy_on_log', args: [2] }`. */
export interface CallTrace {
  vm: string;
  fn: string;
  args: number[];
}

export class ProxyWasmHost implements HostServices {
  readonly metrics = new MetricStore();
  readonly shared = new SharedState();
  readonly calls: CallRouter;
  readonly plugins: Plugin[] = [];
  /** Every log line of every plugin, in order. */
  readonly logs: LogRecord[] = [];
  logLevel: LogLevel;
  /** Calls into the module, when loaded with { trace: true }. */
  readonly trace: CallTrace[] = [];
  private readonly tracing: boolean;
  /** The plugin that created each VM (owner of VM-context logs such as those of `_initialize`). */
  private readonly vms = new Map<WasmVm, Plugin>();
  /** Worker VMs by Envoy's VM key (vm_id, vm config, env; the code is this host's): shared by plugins. */
  private readonly workerVms = new Map<string, WasmVm[]>();
  private readonly wallStartNs: bigint;
  private elapsedMs = 0;

  private constructor(
    readonly file: string,
    readonly module: WebAssembly.Module,
    readonly info: ModuleInfo,
    readonly abi: AbiMarker,
    readonly size: number,
    opts: HostOptions,
  ) {
    this.logLevel = LOG_LEVEL_NAMES.indexOf(opts.logLevel ?? 'info');
    this.wallStartNs = BigInt(opts.startTimeMs ?? Date.now()) * 1_000_000n;
    this.calls = new CallRouter(() => this.nowMs(), opts.callLog ?? true);
    this.tracing = !!opts.trace;
  }

  traceCall(vm: WasmVm, fn: string, args: readonly number[]): void {
    if (this.tracing) this.trace.push({ vm: vm.label, fn, args: [...args] });
  }

  /** Loads and checks a module; throws WasmLoadError (naming the import/export) where Envoy would refuse it. */
  static async load(source: string | Uint8Array, opts: HostOptions = {}): Promise<ProxyWasmHost> {
    const file = typeof source === 'string' ? source : '<bytes>';
    let bytes: Uint8Array;
    try {
      bytes = typeof source === 'string' ? await readFile(source) : source;
    } catch (err) {
      throw new WasmLoadError(
        `${file}: cannot read the module (${(err as Error).message}); run \`npm run build:wasm\` first`,
      );
    }
    const info = readModuleInfo(bytes);
    const abi = checkLoadable(info, file);
    const module = await WebAssembly.compile(bytes);
    return new ProxyWasmHost(file, module, info, abi, bytes.length, opts);
  }

  /** Creates a plugin: canary VM, then one VM + root context per worker. Rejects with PluginRejectedError. */
  async createPlugin(opts: PluginOptions = {}): Promise<Plugin> {
    const plugin = new Plugin(this, opts);
    this.plugins.push(plugin);
    plugin.start(opts.workers ?? 1);
    return plugin;
  }

  /** Declares an Envoy cluster. With a url, http calls go to that real server; without, the test answers them. */
  cluster(name: string, target?: string | ClusterOptions): this {
    this.calls.clusters.set(name, typeof target === 'string' ? { url: target } : (target ?? {}));
    return this;
  }

  /** http calls waiting for `call.respond(...)` / `call.reset()`, oldest first. */
  get pendingCalls(): HttpCallRecord[] {
    return [...this.calls.pending];
  }
  /** Every http call made so far. */
  get httpCalls(): HttpCallRecord[] {
    return [...this.calls.httpLog];
  }
  /** Every gRPC call/stream made so far (the test plays the server). */
  get grpcCalls(): GrpcCallRecord[] {
    return [...this.calls.grpc];
  }
  /** Waits until `n` http calls are pending (real-server calls resolve on their own; this is for test-answered ones). */
  async waitForCalls(n = 1, timeoutMs = 5000): Promise<HttpCallRecord[]> {
    const until = Date.now() + timeoutMs;
    while (this.calls.pending.length < n) {
      if (Date.now() > until)
        throw new Error(
          `waitForCalls: ${this.calls.pending.length} pending http call(s) after ${timeoutMs} ms, expected ${n}`,
        );
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.pendingCalls;
  }
  /** Waits until every call routed to a real server has been answered and delivered. */
  async settle(timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.calls.waitingForRealServer()) {
      if (Date.now() > until)
        throw new Error(`settle: http calls to real clusters still pending after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Moves the controllable clock: fires due ticks (per root, per VM) in time order and times out pending calls. */
  advance(ms: number): void {
    const target = this.elapsedMs + ms;
    for (;;) {
      let next: { at: number; root: RootContext; plugin: Plugin } | undefined;
      for (const p of this.plugins) {
        for (const root of p.roots()) {
          if (
            root.tickPeriodMs > 0 &&
            !root.vm.failed &&
            root.nextTickAt <= target &&
            (!next || root.nextTickAt < next.at)
          )
            next = { at: root.nextTickAt, root, plugin: p };
        }
      }
      if (!next) break;
      this.elapsedMs = Math.max(this.elapsedMs, next.at);
      this.calls.expire(this.elapsedMs);
      next.root.nextTickAt = this.elapsedMs + next.root.tickPeriodMs;
      next.plugin.tick(next.root);
    }
    this.elapsedMs = target;
    this.calls.expire(this.elapsedMs);
  }

  nowMs(): number {
    return this.elapsedMs;
  }
  nowNs(): bigint {
    return this.wallStartNs + BigInt(this.elapsedMs) * 1_000_000n;
  }
  monotonicNs(): bigint {
    return BigInt(this.elapsedMs) * 1_000_000n;
  }

  log(vm: WasmVm, ctx: Context, level: LogLevel, message: string, always = false): void {
    if (!always && level < this.logLevel) return;
    const plugin = ctx.kind === 'vm' ? this.vms.get(vm) : ctx.root.plugin;
    const record: LogRecord = {
      level: LOG_LEVEL_NAMES[level] ?? 'critical',
      message,
      vm: vm.label,
      contextId: ctx.id,
      prefix: `wasm log ${plugin?.name ?? ''} ${plugin?.rootId ?? ''} ${vm.vmId}: `,
    };
    this.logs.push(record);
    plugin?.logs.push(record);
  }

  onVmFailed(vm: WasmVm): void {
    for (const p of this.plugins) p.vmFailed(vm); // every plugin whose worker runs in this VM
  }

  /**
   * @internal Worker VM `index` for `plugin`. As in Envoy, plugins with the same VM key (vm_id,
   * vm configuration, environment) share the worker's VM, each with its own root context — unless
   * the VM already has a root for the same root_id (then the plugin gets a VM of its own).
   */
  workerVm(plugin: Plugin, index: number): WasmVm {
    const key = JSON.stringify([
      plugin.vmId,
      plugin.vmConfig.toString('base64'),
      Object.entries(plugin.env).sort(),
    ]);
    const list = this.workerVms.get(key) ?? [];
    this.workerVms.set(key, list);
    const existing = list[index];
    const taken = (vm: WasmVm) =>
      [...vm.contexts.values()].some(
        (c) => c.kind === 'root' && !c.deleted && c.plugin.rootId === plugin.rootId,
      );
    if (existing && !existing.failed && !taken(existing)) return existing;
    const vm = this.createVm(plugin, `worker${index}`);
    if (!existing || existing.failed) list[index] = vm;
    return vm;
  }

  /** @internal used by Plugin */
  createVm(plugin: Plugin, label: string): WasmVm {
    const vm = WasmVm.create(this, this.module, this.info, {
      label,
      vmId: plugin.vmId,
      vmConfig: plugin.vmConfig,
      env: plugin.env,
      onCreated: (v) => this.vms.set(v, plugin),
    });
    return vm;
  }
  /** @internal */
  forgetVm(vm: WasmVm): void {
    this.vms.delete(vm);
  }

  /** Import and export names of the module ("module.name"), for build checks. */
  get importNames(): string[] {
    return this.info.imports.map((i) => `${i.module}.${i.name}`);
  }
  get exportNames(): string[] {
    return this.info.exports.map((e) => e.name);
  }
}
