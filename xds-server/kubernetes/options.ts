// Settings of the kubernetes mesh source, and how the manifests pass them (environment).
import type { KubeConfig } from '@kubernetes/client-node';
import type { IstioOptions } from './wasmplugin.js';

export interface KubernetesSourceOptions {
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  /** This pod's name (Lease identity) and namespace (where the Lease lives). */
  identity: string;
  leaseNamespace: string;
  leaseName: string;
  istio?: IstioOptions;
  /** Defaults to the in-cluster service account, else ~/.kube/config. */
  kubeConfig?: KubeConfig;
  debounceMs?: number;
}

/** Reads the kubernetes-source settings the manifests pass as environment variables. */
export function kubernetesOptionsFromEnv(env: NodeJS.ProcessEnv): KubernetesSourceOptions | undefined {
  if ((env.SIDECAST_MESH_SOURCE ?? 'file') === 'file') return undefined;
  if (env.SIDECAST_MESH_SOURCE !== 'kubernetes')
    throw new Error(`SIDECAST_MESH_SOURCE must be "file" or "kubernetes", got "${env.SIDECAST_MESH_SOURCE}"`);
  const url = env.SIDECAST_ISTIO_WASM_URL;
  if (url && !/^oci:\/\/\S+@sha256:[0-9a-f]{64}$/.test(url))
    throw new Error(`SIDECAST_ISTIO_WASM_URL must be oci://<registry>/<repo>@sha256:<digest>, got "${url}"`);
  return {
    namespaces: (env.SIDECAST_WATCH_NAMESPACES ?? '').split(',').filter(Boolean),
    identity: env.POD_NAME ?? `sidecast-xds-${process.pid}`,
    leaseNamespace: env.POD_NAMESPACE ?? 'sidecast',
    leaseName: env.SIDECAST_STATUS_LEASE ?? 'sidecast-xds-status',
    istio: url
      ? {
          wasmUrl: url,
          bridgeCluster:
            env.SIDECAST_ISTIO_BRIDGE_CLUSTER ?? 'outbound|8090||sidecast-bridge.sidecast.svc.cluster.local',
        }
      : undefined,
  };
}
