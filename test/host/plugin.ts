// A plugin configuration as Envoy runs it (cpp-host createWasm / getOrCreateThreadLocalPlugin):
// a throw-away canary VM validates the configuration, then every worker gets its own VM and root
// context (create → on_vm_start → on_configure). Failure policy per plugin (reference §2.1, §2.12).
import { LOG_LEVEL_NAMES, type LogLevelName } from './abi.js';
import { toValue, type PropertyInit, type Value } from './properties.js';
import { RouteTable } from './routes.js';
import { Stream, type StreamOptions } from './stream.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { RootContext, type WasmVm } from './vm.js';
import type { ProxyWasmHost } from './host.js';

export type FailurePolicy = 'fail_closed' | 'fail_open' | 'fail_reload';

export interface PluginOptions {
  /** Plugin name (Envoy `name`, property plugin_name). Default "plugin". */
  name?: string;
  /** root_id (property plugin_root_id). Default "". */
  rootId?: string;
  /** vm_id: scopes shared data and queues. Default "". */
  vmId?: string;
  /** vm_config.configuration (buffer VmConfiguration). */
  vmConfig?: string | Uint8Array;
  /** PluginConfig.configuration (buffer PluginConfiguration); objects are sent as JSON text, as Istio does. */
  pluginConfig?: string | Uint8Array | object;
  /** Worker threads, one VM each. Default 1. */
  workers?: number;
  /** Envoy failure_policy. Default fail_closed. */
  failurePolicy?: FailurePolicy;
  /** PluginConfig.allow_on_headers_stop_iteration (Envoy ≥ 1.35). Default false. */
  allowOnHeadersStopIteration?: boolean;
  /** Connection buffer limit (per_connection_buffer_limit_bytes). Default 1 MiB. */
  bufferLimitBytes?: number;
  /** vm_config.environment_variables (WASI environ). */
  env?: Record<string, string>;
  /** Listener/plugin-wide properties, e.g. { 'xds.listener_direction': 1, 'xds.node.id': 'n1' }. */
  properties?: Record<string, PropertyInit>;
  /** FAIL_RELOAD backoff before a failed worker VM is replaced. Default 1000 ms (Envoy's base). */
  reloadBackoffMs?: number;
  /**
   * The listener's route table (proto3 JSON of an envoy.config.route.v3.RouteConfiguration): each
   * stream selects its route from it, which serves xds.route_name and xds.route_metadata.
   */
  routes?: unknown;
}

export interface LogRecord {
  level: LogLevelName;
  message: string;
  /** VM label: "canary", "worker0", "worker0#reload1", … */
  vm: string;
  /** The context current (or effective) when the line was written; 0 = VM context. */
  contextId: number;
  /** Envoy's prefix: "wasm log <plugin name> <root_id> <vm_id>: ". */
  prefix: string;
}

/** The plugin's configuration was refused (Envoy NACKs it / fails at startup). `logs` says why. */
export class PluginRejectedError extends Error {
  override name = 'PluginRejectedError';
  constructor(
    message: string,
    readonly logs: LogRecord[],
  ) {
    super(
      `${message}${logs.length ? '\nplugin logs:\n' + logs.map((l) => `  [${l.level}] ${l.message}`).join('\n') : ''}`,
    );
  }
}

function configBytes(c: string | Uint8Array | object | undefined): Buffer {
  if (c === undefined) return Buffer.alloc(0);
  return typeof c === 'string' || c instanceof Uint8Array ? Buffer.from(c) : Buffer.from(JSON.stringify(c));
}

interface Worker {
  vm: WasmVm;
  root: RootContext | null;
  failedAtMs?: number;
  reloads: number;
}

export class Plugin {
  readonly name: string;
  readonly rootId: string;
  readonly vmId: string;
  readonly vmConfig: Buffer;
  /** The current plugin configuration (reconfigure() replaces it). */
  pluginConfig: Buffer;
  readonly failurePolicy: FailurePolicy;
  readonly allowOnHeadersStopIteration: boolean;
  readonly bufferLimitBytes: number;
  readonly env: Record<string, string>;
  readonly properties = new Map<string, Value>();
  readonly logs: LogRecord[] = [];
  private readonly workers: Worker[] = [];
  private readonly reloadBackoffMs: number;
  /** The current route table (setRoutes replaces it); undefined: no route properties. */
  routeTable?: RouteTable;

  constructor(
    readonly host: ProxyWasmHost,
    opts: PluginOptions,
  ) {
    this.name = opts.name ?? 'plugin';
    this.rootId = opts.rootId ?? '';
    this.vmId = opts.vmId ?? '';
    this.vmConfig = Buffer.from(opts.vmConfig ?? '');
    this.pluginConfig = configBytes(opts.pluginConfig);
    this.failurePolicy = opts.failurePolicy ?? 'fail_closed';
    this.allowOnHeadersStopIteration = opts.allowOnHeadersStopIteration ?? false;
    this.bufferLimitBytes = opts.bufferLimitBytes ?? 1024 * 1024;
    this.env = opts.env ?? {};
    this.reloadBackoffMs = opts.reloadBackoffMs ?? 1000;
    for (const [k, v] of Object.entries(opts.properties ?? {})) this.properties.set(k, toValue(v));
    if (opts.routes !== undefined) this.routeTable = new RouteTable(opts.routes);
  }

  /** An RDS update: streams that start from now on select their route from `routes`; open ones keep theirs. */
  setRoutes(routes: unknown): void {
    this.routeTable = new RouteTable(routes);
  }

  /** Canary then workers; throws PluginRejectedError like Envoy's NACK. */
  start(workers: number): void {
    this.runCanary(this.pluginConfig);
    for (let w = 0; w < workers; w++) {
      const vm = this.host.workerVm(this, w);
      this.workers.push({ vm, root: vm.failed ? null : this.startRoot(vm, this.pluginConfig), reloads: 0 });
    }
  }

  /**
   * A configuration-only update (e.g. a new ECDS config with the same code and vm config): after a
   * canary accepts it, every worker VM is REUSED (module globals survive) and gets a NEW root
   * context (create → on_vm_start → on_configure); then the old root gets on_done → on_delete
   * (or waits for proxy_done). Streams already open keep their old root. Rejection leaves the old
   * configuration in place and throws PluginRejectedError (Envoy NACKs).
   */
  reconfigure(pluginConfig: string | Uint8Array | object): void {
    const config = configBytes(pluginConfig);
    this.runCanary(config);
    this.pluginConfig = config;
    for (const w of this.workers) {
      if (w.vm.failed) continue;
      const old = w.root;
      w.root = this.startRoot(w.vm, config);
      if (old) this.retireRoot(old);
    }
  }

  /** The throw-away canary: a fresh VM that must start and accept `config`. */
  private runCanary(config: Buffer): void {
    const canary = this.newVm('canary');
    const root = canary.failed ? null : this.startRoot(canary, config);
    if (!root) {
      throw new PluginRejectedError(
        `plugin "${this.name}" (root_id "${this.rootId}") rejected: ${canary.failed ? `VM failed: ${canary.failed}` : 'proxy_on_vm_start or proxy_on_configure returned false'}`,
        this.logs,
      );
    }
    // The canary is killed without on_done/on_delete (cpp-host configuration_canary_handle->kill());
    // whatever it started (calls, ticks) dies with it.
    root.deleted = true;
    this.host.calls.cancelOwnedBy(root);
    this.host.forgetVm(canary);
  }

  private newVm(label: string): WasmVm {
    return this.host.createVm(this, label);
  }

  /** on_context_create(root, 0) → on_vm_start → on_configure; null if either returns false or traps. */
  private startRoot(vm: WasmVm, config: Buffer): RootContext | null {
    const root = new RootContext(vm, vm.allocContextId(), this, config);
    vm.contexts.set(root.id, root);
    vm.call(root, 'proxy_on_context_create', root.id, 0);
    const started = vm.call(root, 'proxy_on_vm_start', root.id, vm.vmConfig.length);
    vm.drain();
    if (vm.failed || started === 0) return null;
    root.configuring = true;
    const configured = vm.call(root, 'proxy_on_configure', root.id, config.length);
    root.configuring = false;
    vm.drain();
    if (vm.failed || configured === 0) return null;
    return root;
  }

  /** Opens a stream on a worker. The context is created lazily by the first callback (§2.4). */
  stream(opts: StreamOptions = {}): Stream {
    const { vm, root, mode } = this.attach(opts.worker ?? 0, 'stream');
    return new Stream(this, vm, root, mode, opts);
  }

  /**
   * A TCP connection accepted by a listener whose network filter chain holds this plugin: the
   * context is created and proxy_on_new_connection runs now (its status is `actions[0]`).
   */
  connection(opts: ConnectionOptions = {}): Connection {
    const { vm, root, mode } = this.attach(opts.worker ?? 0, 'connection');
    const c = new Connection(this, vm, root, mode, opts);
    c.accept();
    return c;
  }

  /** The worker's VM and root for a new stream/connection, and how Envoy's filter factory treats a failed VM. */
  private attach(
    index: number,
    what: string,
  ): { vm: WasmVm; root: RootContext | null; mode: 'normal' | 'bypass' | 'fail' } {
    const w = this.workers[index];
    if (!w)
      throw new Error(
        `plugin "${this.name}" has ${this.workers.length} worker(s); ${what}({ worker: ${index} }) is out of range`,
      );
    if (w.vm.failed && this.failurePolicy === 'fail_reload') this.maybeReload(w, index);
    const healthy = !w.vm.failed && w.root;
    const mode = healthy ? 'normal' : this.failurePolicy === 'fail_open' ? 'bypass' : 'fail';
    return { vm: w.vm, root: w.root, mode };
  }

  /**
   * Envoy's Context::validateConfiguration (proxy_validate_configuration with the configuration
   * readable as PluginConfiguration). Envoy itself never calls it — neither createPlugin nor
   * reconfigure does here — it is an embedder hook; true when the module does not export it.
   */
  validateConfiguration(config: string | Uint8Array | object, worker = 0): boolean {
    const root = this.liveRoot(worker, 'validateConfiguration');
    const bytes = configBytes(config);
    root.validating = bytes;
    const r = root.vm.call(root, 'proxy_validate_configuration', root.id, bytes.length);
    root.validating = null;
    root.vm.drain();
    return r === undefined ? !root.vm.has('proxy_validate_configuration') : r !== 0;
  }

  /**
   * cpp-host's ContextBase::onForeignFunction: proxy_on_foreign_function(root, id, args size) with
   * `args` readable as ForeignFunctionArguments (8). Stock Envoy never drives it; embedders may.
   */
  foreignFunction(functionId: number, args: string | Uint8Array = '', worker = 0): void {
    const root = this.liveRoot(worker, 'foreignFunction');
    root.callData = Buffer.from(args);
    root.vm.call(root, 'proxy_on_foreign_function', root.id, functionId, root.callData.length);
    root.callData = Buffer.alloc(0);
    root.vm.drain();
  }

  private liveRoot(worker: number, what: string): RootContext {
    const root = this.workers[worker]?.root;
    if (!root || root.deleted)
      throw new Error(
        `plugin "${this.name}": ${what} needs a running root context on worker ${worker} (none: VM failed or plugin shut down)`,
      );
    return root;
  }

  /** FAIL_RELOAD: a new VM for new streams once the backoff since the failure has passed. */
  private maybeReload(w: Worker, index: number): void {
    const now = this.host.nowMs();
    w.failedAtMs ??= now;
    if (now - w.failedAtMs < this.reloadBackoffMs) return;
    w.reloads++;
    const vm = this.newVm(`worker${index}#reload${w.reloads}`);
    w.vm = vm;
    w.root = vm.failed ? null : this.startRoot(vm, this.pluginConfig);
    w.failedAtMs = vm.failed || !w.root ? now : undefined;
  }

  /** Records the failure time of a worker VM (for FAIL_RELOAD backoff). */
  vmFailed(vm: WasmVm): void {
    const w = this.workers.find((x) => x.vm === vm);
    if (w) w.failedAtMs = this.host.nowMs();
  }

  /** The worker's VM (e.g. to inspect `failed`). */
  vm(worker = 0): WasmVm {
    const w = this.workers[worker];
    if (!w) throw new Error(`plugin "${this.name}" has no worker ${worker}`);
    return w.vm;
  }
  /** The worker's root context id. */
  rootContextId(worker = 0): number | undefined {
    return this.workers[worker]?.root?.id;
  }
  roots(): RootContext[] {
    return this.workers.flatMap((w) => (w.root && !w.root.deleted ? [w.root] : []));
  }

  /** Messages logged at `level` or above (all when no level is given), in order. */
  messages(level?: LogLevelName): string[] {
    const min = level ? LOG_LEVEL_NAMES.indexOf(level) : 0;
    return this.logs.filter((l) => LOG_LEVEL_NAMES.indexOf(l.level) >= min).map((l) => l.message);
  }

  queueReady(root: RootContext, queueId: number): void {
    if (root.deleted) return;
    root.vm.call(root, 'proxy_on_queue_ready', root.id, queueId);
  }

  tick(root: RootContext): void {
    if (root.deleted || root.vm.failed) return;
    root.vm.whenIdle(() => root.vm.call(root, 'proxy_on_tick', root.id));
  }

  /** Plugin removal / shutdown: on_done per root; true ⇒ on_delete now, false ⇒ after proxy_done. */
  shutdown(): void {
    for (const root of this.roots()) this.retireRoot(root);
  }

  private retireRoot(root: RootContext): void {
    const vm = root.vm;
    const done = vm.call(root, 'proxy_on_done', root.id);
    if (done === 0 && !vm.failed) root.pendingDone = true;
    else this.deleteRoot(root);
    vm.drain();
  }

  deleteRoot(root: RootContext): void {
    if (root.deleted) return;
    root.deleted = true;
    root.tickPeriodMs = 0;
    this.host.calls.cancelOwnedBy(root);
    root.vm.call(root, 'proxy_on_delete', root.id);
    root.vm.contexts.delete(root.id);
  }
}
