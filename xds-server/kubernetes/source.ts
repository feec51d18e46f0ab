// The `kubernetes` mesh source: list-watches the sidecast CRs, EndpointSlices and Services (in
// the watched namespaces, or all), reconciles on every change (debounced) and hands the mesh to the
// same callbacks the file source uses, so the cache and server never know where it came from.
// The Lease holder alone writes status.conditions and (Istio mode) the WasmPlugins.
import { readFileSync } from 'node:fs';
import {
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { meshFiles } from '../mesh/load.js';
import type { FleetResources, MeshConfig } from '../mesh/types.js';
import type { MeshState, MeshWatcher } from '../mesh/watch.js';
import { statusPatch } from './conditions.js';
import { LeaseLoop } from './lease-loop.js';
import { ListWatch } from './list-watch.js';
import {
  CUSTOM_RESOURCES,
  ENDPOINT_SLICES,
  GROUP,
  keyOf,
  MANAGED_BY,
  SERVICES,
  VERSION,
  WASM_PLUGINS,
  type KubeObject,
  type WatchedType,
} from './objects.js';
import { MeshReconciler, type Reconciled } from './reconcile.js';

const MANAGED_SELECTOR = Object.entries(MANAGED_BY)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');
import type { KubernetesSourceOptions } from './options.js';

const plurals = new Map(CUSTOM_RESOURCES.map((t) => [t.kind, t.plural]));

export function watchKubernetesMesh(
  meshPath: string,
  options: KubernetesSourceOptions,
  onChange: (resources: FleetResources, version: string, config: MeshConfig) => void,
  onError: (err: Error) => void,
  log: Logger,
): MeshWatcher {
  const kc = options.kubeConfig ?? defaultKubeConfig();
  const reconciler = new MeshReconciler(options.istio);
  const state: MeshState = {};
  const custom = kc.makeApiClient(CustomObjectsApi);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  let timer: NodeJS.Timeout | undefined;
  let writing = Promise.resolve();
  // Until every list has come back once, a reconcile would judge CRs against a partial picture
  // (a route before its service) and write wrong statuses.
  let synced = false;

  const schedule = () => {
    if (!synced) return;
    clearTimeout(timer);
    timer = setTimeout(reload, options.debounceMs ?? 50);
  };
  const scopes = options.namespaces.length ? options.namespaces : [undefined];
  const watch = (type: WatchedType, labelSelector?: string) =>
    scopes.map((ns) => new ListWatch(kc, type, ns, { onChange: schedule, log, labelSelector }));
  const crWatches = new Map(CUSTOM_RESOURCES.map((t) => [t.kind, watch(t)]));
  const sliceWatches = watch(ENDPOINT_SLICES);
  const serviceWatches = watch(SERVICES);
  const pluginWatches = options.istio ? watch(WASM_PLUGINS, MANAGED_SELECTOR) : [];
  const all = [...[...crWatches.values()].flat(), ...sliceWatches, ...serviceWatches, ...pluginWatches];
  const lease = new LeaseLoop(kc, {
    name: options.leaseName,
    namespace: options.leaseNamespace,
    identity: options.identity,
    log,
    onChange: (leader) => leader && schedule(),
  });

  function reload(): void {
    clearTimeout(timer);
    let base;
    try {
      base = meshFiles(meshPath).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
    } catch (e) {
      return fail(e as Error);
    }
    const resources = new Map<string, KubeObject>();
    for (const [kind, lws] of crWatches)
      for (const lw of lws) for (const o of lw.store.values()) resources.set(keyOf(kind, o), o);
    let r: Reconciled;
    try {
      r = reconciler.reconcile({
        base,
        resources,
        endpointSlices: sliceWatches.flatMap((lw) => lw.store.values()),
        services: serviceWatches.flatMap((lw) => lw.store.values()),
      });
    } catch (e) {
      return fail(e as Error);
    }
    state.error = state.errorAt = undefined;
    if (r.version !== state.version) {
      Object.assign(state, { resources: r.resources, config: r.config, version: r.version });
      onChange(r.resources, r.version, r.config);
    }
    if (lease.isLeader()) writing = writing.then(() => writeBack(resources, r)).catch(() => undefined);
  }

  function fail(e: Error): void {
    state.error = e;
    state.errorAt = new Date();
    onError(e);
  }

  async function writeBack(current: Map<string, KubeObject>, r: Reconciled): Promise<void> {
    const now = new Date();
    for (const [key, obj] of current) {
      const verdict = r.verdicts.get(key);
      const patch = verdict && statusPatch(obj, verdict, now);
      if (!patch) continue;
      try {
        await custom.patchNamespacedCustomObjectStatus(
          {
            group: GROUP,
            version: VERSION,
            namespace: obj.metadata.namespace ?? '',
            plural: plurals.get(obj.kind ?? '')!,
            name: obj.metadata.name,
            body: patch,
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      } catch (e) {
        log.warn(
          { err: (e as Error).message, object: key },
          'status patch failed; retried on the next change',
        );
      }
    }
    if (!options.istio) return;
    const existing = pluginWatches.flatMap((lw) => lw.store.values());
    const wanted = new Set(r.wasmPlugins.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
    for (const p of r.wasmPlugins) {
      const had = existing.find(
        (e) => e.metadata.namespace === p.metadata.namespace && e.metadata.name === p.metadata.name,
      );
      if (had && JSON.stringify(had.spec) === JSON.stringify(p.spec) && sameOwners(had, p)) continue;
      try {
        // Server-side apply: idempotent, and the fields stay owned by field manager "sidecast".
        await objects.patch(
          p as KubernetesObject,
          undefined,
          undefined,
          'sidecast',
          true,
          PatchStrategy.ServerSideApply,
        );
      } catch (e) {
        log.warn(
          { err: (e as Error).message, wasmPlugin: `${p.metadata.namespace}/${p.metadata.name}` },
          'applying WasmPlugin failed',
        );
      }
    }
    for (const e of existing) {
      if (wanted.has(`${e.metadata.namespace}/${e.metadata.name}`)) continue; // the watch selects only ours
      try {
        await objects.delete(e as KubernetesObject);
      } catch (err) {
        log.warn(
          { err: (err as Error).message, wasmPlugin: `${e.metadata.namespace}/${e.metadata.name}` },
          'deleting WasmPlugin failed',
        );
      }
    }
  }

  for (const lw of all) lw.start();
  lease.start();
  void Promise.all(all.map((lw) => lw.synced)).then(() => {
    synced = true;
    reload();
  });
  log.info(
    { namespaces: options.namespaces.length ? options.namespaces : 'all', istio: !!options.istio },
    'watching sidecast resources',
  );

  return {
    current: () => ({ ...state }),
    reload,
    close: () => {
      clearTimeout(timer);
      for (const lw of all) lw.stop();
      void lease.stop();
    },
  };
}

function sameOwners(a: KubeObject, b: KubeObject): boolean {
  const uids = (o: KubeObject) =>
    (o.metadata.ownerReferences ?? [])
      .map((r) => r.uid)
      .sort()
      .join();
  return uids(a) === uids(b);
}

function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault(); // in-cluster service account when KUBERNETES_SERVICE_HOST is set
  return kc;
}
