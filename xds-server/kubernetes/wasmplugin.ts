// Istio mode: one WasmPlugin per service that has EventRoutes. Its pluginConfig is the emitter
// JSON the ECDS path publishes (emitterConfig, one translation), with the bridge cluster named as
// Istio names it; the url pins the image by digest; owners are the service's EventRoutes, so the
// garbage collector removes the plugin with the last route even while the controller is down.
import { emitterConfig } from '../mesh/emitter.js';
import type { MeshConfig } from '../mesh/types.js';
import { EMITTER_ROOT_ID } from '../mesh/translate.js';
import { MANAGED_BY, WASM_PLUGINS, type KubeObject, type OwnerReference } from './objects.js';

export interface IstioOptions {
  /** `oci://registry/repo@sha256:<digest>` of the event-emitter image. */
  wasmUrl: string;
  /** Istio's name for the bridge cluster, `outbound|8090||sidecast-bridge.<ns>.svc.cluster.local`. */
  bridgeCluster: string;
}

export interface ServicePlacement {
  namespace: string;
  /** Pod labels the plugin selects: the Kubernetes Service's spec.selector. */
  selector: Record<string, string>;
  owners: OwnerReference[];
}

export const wasmPluginName = (service: string): string => `sidecast-emitter-${service}`;

/** The emitter JSON for Istio: exactly the ECDS one but for the cluster the sidecar knows the bridge by. */
export function istioPluginConfig(
  config: MeshConfig,
  service: string,
  bridgeCluster: string,
): Record<string, unknown> {
  const spec = config.services.find((s) => s.name === service);
  if (!spec) throw new Error(`istioPluginConfig: service "${service}" is not in the mesh`);
  const json = emitterConfig(config, spec);
  return { ...json, bridge: { ...(json.bridge as Record<string, unknown>), cluster: bridgeCluster } };
}

export function wasmPlugins(
  config: MeshConfig,
  placementOf: (service: string) => ServicePlacement | undefined,
  istio: IstioOptions,
): KubeObject[] {
  const withRoutes = [...new Set(config.eventRoutes.map((r) => r.service))].sort();
  const out: KubeObject[] = [];
  for (const service of withRoutes) {
    const placement = placementOf(service);
    if (!placement) continue;
    out.push({
      apiVersion: WASM_PLUGINS.apiVersion,
      kind: WASM_PLUGINS.kind,
      metadata: {
        name: wasmPluginName(service),
        namespace: placement.namespace,
        labels: { ...MANAGED_BY, 'sidecast.io/service': service },
        ownerReferences: placement.owners,
      },
      spec: {
        selector: { matchLabels: placement.selector },
        url: istio.wasmUrl,
        imagePullPolicy: 'IfNotPresent',
        pluginName: EMITTER_ROOT_ID,
        type: 'HTTP',
        phase: 'STATS', // after Istio's authn/authz: only admitted requests emit events
        failStrategy: 'FAIL_OPEN', // a broken VM lets traffic through; events are lost, requests are not
        match: [{ mode: 'SERVER' }], // inbound: the service that answers emits
        pluginConfig: istioPluginConfig(config, service, istio.bridgeCluster),
      },
    });
  }
  return out;
}
