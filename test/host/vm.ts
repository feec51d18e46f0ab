// One Wasm VM (one instance, one linear memory) as cpp-host's WasmBase: context ids, the current
// and effective context, restricted windows, after-VM-call actions, and failure on trap.
import { INITIALIZE_ALLOWED, LogLevel, MALLOC_ALLOWED } from './abi.js';
import { GuestMemory } from './memory.js';
import type { ModuleInfo } from './wasm-module.js';
import type { Stream } from './stream.js';
import type { Connection } from './connection.js';
import type { Plugin } from './plugin.js';
import type { HttpCallRecord, GrpcCallRecord } from './calls.js';
import type { HeaderMap } from './pairs.js';
import type { HostServices } from './services.js';
import { buildImports } from './hostcalls.js';

/** Raised inside a hostcall to trap the VM, the way cpp-host fails a VM (e.g. "restricted_callback"). */
export class WasmTrap extends Error {
  override name = 'WasmTrap';
}

export class VmContext {
  readonly kind = 'vm';
  readonly id = 0;
  constructor(readonly vm: WasmVm) {}
}

export class RootContext {
  readonly kind = 'root';
  /** Inside proxy_on_configure: PluginConfiguration is readable only then (§2.2). */
  configuring = false;
  /** Set while plugin.validateConfiguration() runs (Envoy's temp_plugin_): the configuration being validated. */
  validating: Buffer | null = null;
  /** Buffer CallData / ForeignFunctionArguments (8): what the host set before the current call. */
  callData: Buffer = Buffer.alloc(0);
  tickPeriodMs = 0;
  nextTickAt = 0;
  /** Set while proxy_on_http_call_response / grpc callbacks run: what the response maps/buffers read. */
  httpCallResponse: HttpCallRecord | null = null;
  grpcReceive: { initial?: HeaderMap; trailing?: HeaderMap; message?: Buffer } | null = null;
  /** proxy_on_done returned false; waiting for proxy_done. */
  pendingDone = false;
  deleted = false;
  constructor(
    readonly vm: WasmVm,
    readonly id: number,
    readonly plugin: Plugin,
    /** The plugin configuration this root was configured with (buffer PluginConfiguration). */
    readonly pluginConfig: Buffer,
  ) {}
  get root(): RootContext {
    return this;
  }
}

export class StreamContext {
  readonly kind = 'stream';
  constructor(
    readonly vm: WasmVm,
    readonly id: number,
    readonly root: RootContext,
    readonly stream: Stream,
  ) {}
  get plugin(): Plugin {
    return this.root.plugin;
  }
}

/** One network-filter connection (Envoy's network Wasm filter context). */
export class ConnectionContext {
  readonly kind = 'connection';
  constructor(
    readonly vm: WasmVm,
    readonly id: number,
    readonly root: RootContext,
    readonly connection: Connection,
  ) {}
  get plugin(): Plugin {
    return this.root.plugin;
  }
}

export type Context = VmContext | RootContext | StreamContext | ConnectionContext;

type Exports = Record<string, (...args: (number | bigint)[]) => number | undefined>;

export class WasmVm {
  readonly memory: GuestMemory;
  readonly vmContext = new VmContext(this);
  readonly contexts = new Map<number, RootContext | StreamContext | ConnectionContext>();
  failed: string | null = null;
  current: Context = this.vmContext;
  effective: Context = this.vmContext;
  /** Restricted window name while `_initialize` or the allocator runs. */
  window: 'initialize' | 'malloc' | null = null;
  /** send_local_response was called during the current callback (status override, §2.6). */
  nextIterationStopped = false;
  /** get_status payload of the current callback. */
  status: { code: number; message: string } = { code: 0, message: '' };
  readonly httpCalls = new Map<number, HttpCallRecord>();
  readonly grpcCalls = new Map<number, GrpcCallRecord>();
  readonly metricIds = new Map<number, string>(); // id → Envoy stat name
  private nextContextId = 1;
  private nextHttpToken = 0;
  private nextGrpcCallToken = 0;
  private nextGrpcStreamToken = 0;
  private readonly metricCounters = [0, 0, 0];
  private readonly exports: Exports;
  private readonly afterCall: (() => void)[] = [];
  private depth = 0;

  private constructor(
    readonly services: HostServices,
    readonly label: string,
    readonly vmId: string,
    readonly vmConfig: Buffer,
    readonly env: Record<string, string>,
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
  ) {
    this.exports = instance.exports as unknown as Exports;
    const allocName = typeof this.exports.malloc === 'function' ? 'malloc' : 'proxy_on_memory_allocate';
    this.memory = new GuestMemory(memory, (size) => this.allocate(allocName, size));
  }

  /** Instantiates the module and runs its startup function in the restricted window. */
  static create(
    services: HostServices,
    module: WebAssembly.Module,
    info: ModuleInfo,
    opts: {
      label: string;
      vmId: string;
      vmConfig: Buffer;
      env: Record<string, string>;
      onCreated?: (vm: WasmVm) => void;
    },
  ): WasmVm {
    // The imports need the VM, which needs the instance: they reach it through this holder.
    const holder: { vm?: WasmVm } = {};
    const importedMemory = info.imports.find((i) => i.kind === 'memory');
    const memoryImport = importedMemory?.memory ? new WebAssembly.Memory(importedMemory.memory) : undefined;
    const imports = buildImports(() => holder.vm!, info, memoryImport);
    // Synchronous instantiation (fine in Node for any size) keeps plugin.stream() synchronous for FAIL_RELOAD.
    const instance = new WebAssembly.Instance(module, imports);
    const memory =
      memoryImport ??
      (Object.values(instance.exports).find((e) => e instanceof WebAssembly.Memory) as WebAssembly.Memory);
    const vm = new WasmVm(services, opts.label, opts.vmId, opts.vmConfig, opts.env, instance, memory);
    holder.vm = vm;
    opts.onCreated?.(vm);
    const start = ['_initialize', '_start', '__wasm_call_ctors'].find((n) => vm.has(n));
    if (start) {
      vm.window = 'initialize';
      vm.invoke(vm.vmContext, start, []);
      // cpp-host startVm: a WASI reactor's main(0, 0) runs right after _initialize (early SDK setup).
      if (start === '_initialize' && vm.has('main') && !vm.failed) vm.invoke(vm.vmContext, 'main', [0, 0]);
      vm.window = null;
    }
    return vm;
  }

  has(name: string): boolean {
    return typeof this.exports[name] === 'function';
  }

  allocContextId(): number {
    return this.nextContextId++;
  }
  nextHttpCallToken(): number {
    // Envoy: http call tokens 4,8,12… (low 2 bits 0); grpc call 5,9,…; grpc stream 6,10,…
    return (this.nextHttpToken += 4);
  }
  nextGrpcToken(stream: boolean): number {
    return stream ? (this.nextGrpcStreamToken += 4) + 2 : (this.nextGrpcCallToken += 4) + 1;
  }
  nextMetricId(type: number): number {
    return (++this.metricCounters[type]! << 2) | type;
  }

  /**
   * Calls an export with `ctx` as current and effective context. Returns undefined when the export
   * is absent or the VM is (or becomes) failed; a trap never escapes to the caller.
   */
  call(ctx: Context, name: string, ...args: (number | boolean)[]): number | undefined {
    if (this.failed || !this.has(name)) return undefined;
    return this.invoke(
      ctx,
      name,
      args.map((a) => (typeof a === 'boolean' ? (a ? 1 : 0) : a)),
    );
  }

  private invoke(ctx: Context, name: string, args: number[]): number | undefined {
    const saved = [this.current, this.effective, this.status] as const;
    this.current = ctx;
    this.effective = ctx;
    this.depth++;
    this.services.traceCall?.(this, name, args);
    try {
      const r = this.exports[name]!(...args);
      return typeof r === 'number' ? r >>> 0 : undefined;
    } catch (err) {
      this.fail(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    } finally {
      this.depth--;
      [this.current, this.effective] = saved;
      if (this.depth === 0) this.status = { code: 0, message: '' };
      else this.status = saved[2];
    }
  }

  private allocate(name: string, size: number): number {
    const saved = this.window;
    this.window = 'malloc';
    this.services.traceCall?.(this, name, [size]);
    try {
      // A trap inside the allocator propagates through the hostcall and fails the VM.
      return this.exports[name]!(size) as number;
    } finally {
      this.window = saved;
    }
  }

  /** Refuses hostcalls outside the restricted window's allow-list (cpp-host "restricted_callback"). */
  checkWindow(hostcall: string): void {
    if (this.window === 'initialize' && !INITIALIZE_ALLOWED.has(hostcall)) {
      throw new WasmTrap(`restricted_callback: ${hostcall} is not allowed during _initialize/_start`);
    }
    if (this.window === 'malloc' && !MALLOC_ALLOWED.has(hostcall)) {
      throw new WasmTrap(`restricted_callback: ${hostcall} is not allowed inside the allocator`);
    }
  }

  get busy(): boolean {
    return this.depth > 0;
  }

  /** Envoy's addAfterVmCallAction: runs once the outermost VM call has returned. */
  defer(action: () => void): void {
    this.afterCall.push(action);
  }
  /** Runs `fn` now if no VM call is active, else after it (callout completions are non-reentrant). */
  whenIdle(fn: () => void): void {
    if (this.busy) this.afterCall.push(fn);
    else {
      fn();
      this.drain();
    }
  }
  drain(): void {
    if (this.busy) return;
    while (this.afterCall.length) this.afterCall.shift()!();
  }

  fail(reason: string): void {
    if (this.failed) return;
    this.failed = reason;
    this.services.log(this, this.effective, LogLevel.Critical, `wasm VM failed: ${reason}`, true);
    for (const c of this.httpCalls.values()) c.cancel();
    for (const g of this.grpcCalls.values()) if (g.state === 'open') g.state = 'cancelled';
    this.services.onVmFailed(this);
  }

  rootOf(ctx: Context): RootContext | undefined {
    return ctx.kind === 'vm' ? undefined : ctx.root;
  }
}
