// The `kubernetes` mesh source and Istio output (docs/kubernetes.md).
export { watchKubernetesMesh } from './source.js';
export { kubernetesOptionsFromEnv, type KubernetesSourceOptions } from './options.js';
export { MeshReconciler, ReconcileError, type ClusterState, type Reconciled } from './reconcile.js';
export { statusPatch, type Verdict } from './conditions.js';
export { wasmPlugins, istioPluginConfig, type IstioOptions } from './wasmplugin.js';
