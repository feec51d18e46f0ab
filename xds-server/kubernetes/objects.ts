// The Kubernetes objects the controller reads and writes, as plain data (no client types), so the
// reconcile logic is pure and testable without an API server.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface Condition {
  type: 'Accepted' | 'Ready';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: { observedGeneration?: number; conditions?: Condition[] };
  [field: string]: unknown;
}

export const GROUP = 'sidecast.io';
export const VERSION = 'v1alpha1';

/** What the controller lists and watches: our CRs, and what supplies endpoints and selectors. */
export interface WatchedType {
  apiVersion: string;
  kind: string;
  plural: string;
  /** Path prefix of its API group: /api/v1 or /apis/<group>/<version>. */
  base: string;
}

const ours = (kind: string, plural: string): WatchedType => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind,
  plural,
  base: `/apis/${GROUP}/${VERSION}`,
});
export const EVENT_ROUTES = ours('EventRoute', 'eventroutes');
export const SUBSCRIPTIONS = ours('Subscription', 'subscriptions');
export const MESH_SERVICES = ours('MeshService', 'meshservices');
export const CUSTOM_RESOURCES = [EVENT_ROUTES, SUBSCRIPTIONS, MESH_SERVICES];
export const ENDPOINT_SLICES: WatchedType = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  base: '/apis/discovery.k8s.io/v1',
};
export const SERVICES: WatchedType = {
  apiVersion: 'v1',
  kind: 'Service',
  plural: 'services',
  base: '/api/v1',
};
export const WASM_PLUGINS: WatchedType = {
  apiVersion: 'extensions.istio.io/v1alpha1',
  kind: 'WasmPlugin',
  plural: 'wasmplugins',
  base: '/apis/extensions.istio.io/v1alpha1',
};

/** `Kind/namespace/name`: how the controller names one object (also the "file" of its mesh issues). */
export const keyOf = (kind: string, o: { metadata: ObjectMeta }): string =>
  `${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Label on every object the controller creates, so it can find (and delete) its own. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'sidecast' } as const;
