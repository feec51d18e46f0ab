// Everything `sidecast install` prints for `kubectl apply -f -`: namespace, CRDs, least-privilege
// RBAC, the xds-server (a Deployment of 2 that elects one status writer) and the broker-bridge (a
// StatefulSet of exactly 1: its embedded broker and spool live on one PVC, and two bridges on two
// embedded brokers would split the event log), Services, PDBs, NetworkPolicies, a ServiceMonitor,
// and on Istio the PeerAuthentication/AuthorizationPolicy/DestinationRule around the bridge.
import { stringify } from 'yaml';
import { crds, GROUP } from './crds.js';

type Json = Record<string, unknown>;

export type InstallMode = 'envoy' | 'istio';

export interface InstallOptions {
  /** Namespace of the sidecast components (default "sidecast"). */
  namespace?: string;
  /** The sidecast container image (Dockerfile in deploy/); default `sidecast:<version>`. */
  image?: string;
  /** `envoy`: the xds-server serves plain Envoy sidecars; `istio`: istiod does, sidecast renders WasmPlugins. */
  mode?: InstallMode;
  /** Istio mode: the event-emitter image, `oci://host/repo@sha256:<digest>` (`sidecast image push` prints it). */
  wasmImage?: string;
  /** Namespaces whose sidecast resources the controller watches (default: all). */
  watchNamespaces?: string[];
  /** Envoy mode: the bearer token sidecars send to the bridge (≥ 16 characters). */
  producerToken?: string;
  /** Size of the bridge's volume (embedded broker + spool); default 5Gi. */
  bridgeStorage?: string;
  storageClassName?: string;
  /** Render a prometheus-operator ServiceMonitor (default true). */
  serviceMonitor?: boolean;
  /** Package version, for labels and the default image tag. */
  version?: string;
}

export const XDS_GRPC_PORT = 18000;
export const XDS_ADMIN_PORT = 18001;
export const BRIDGE_HTTP_PORT = 8090;
export const BRIDGE_GRPC_PORT = 8091;
export const BRIDGE_ADMIN_PORT = 9090;
/** Lease that decides which xds-server replica writes CR status. */
export const STATUS_LEASE = 'sidecast-xds-status';
const XDS = 'sidecast-xds-server';
const BRIDGE = 'sidecast-bridge';
const DATA_DIR = '/var/lib/sidecast';

/** Istio names the bridge's cluster in every sidecar after its Service: `outbound|<port>||<fqdn>`. */
export const istioBridgeCluster = (namespace: string): string =>
  `outbound|${BRIDGE_HTTP_PORT}||${BRIDGE}.${namespace}.svc.cluster.local`;

const WASM_URL = /^oci:\/\/[^\s@]+@sha256:[0-9a-f]{64}$/;

interface Resolved extends Required<
  Omit<InstallOptions, 'wasmImage' | 'producerToken' | 'storageClassName'>
> {
  wasmImage?: string;
  producerToken?: string;
  storageClassName?: string;
}

function resolve(o: InstallOptions): Resolved {
  const version = o.version ?? '0.1.0';
  const r: Resolved = {
    namespace: o.namespace ?? 'sidecast',
    image: o.image ?? `sidecast:${version}`,
    mode: o.mode ?? 'envoy',
    watchNamespaces: o.watchNamespaces ?? [],
    bridgeStorage: o.bridgeStorage ?? '5Gi',
    serviceMonitor: o.serviceMonitor ?? true,
    version,
    wasmImage: o.wasmImage,
    producerToken: o.producerToken,
    storageClassName: o.storageClassName,
  };
  if (r.mode === 'istio' && (!r.wasmImage || !WASM_URL.test(r.wasmImage)))
    throw new Error(
      `Istio mode needs the event-emitter image pinned by digest (--wasm-image oci://<registry>/<repo>@sha256:<64 hex>), got ${JSON.stringify(r.wasmImage)}; "sidecast image push" prints it`,
    );
  if (r.mode === 'envoy' && (!r.producerToken || r.producerToken.length < 16))
    throw new Error(
      'envoy mode needs --producer-token (at least 16 characters): the bearer token sidecars send to the bridge; keep the same one across upgrades',
    );
  return r;
}

const labels = (component: string, r: Resolved) => ({
  'app.kubernetes.io/name': component,
  'app.kubernetes.io/part-of': 'sidecast',
  'app.kubernetes.io/version': r.version,
});
const selector = (component: string) => ({ 'app.kubernetes.io/name': component });
const meta = (name: string, r: Resolved, component = name, extra: Json = {}) => ({
  name,
  namespace: r.namespace,
  labels: labels(component, r),
  ...extra,
});

/** Restricted Pod Security Standard: non-root, no privilege escalation, no capabilities, read-only root. */
const containerSecurity = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};
const podSecurity = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  fsGroup: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};
const probe = (path: string, port: string, period: number) => ({
  httpGet: { path, port },
  periodSeconds: period,
  timeoutSeconds: 2,
  failureThreshold: 3,
});

function meshSettings(r: Resolved): string {
  const bridge: Json = {
    address: `${BRIDGE}.${r.namespace}.svc.cluster.local`,
    port: BRIDGE_HTTP_PORT,
    authority: `${BRIDGE}.${r.namespace}.svc.cluster.local`,
  };
  if (r.mode === 'envoy') bridge.token = r.producerToken;
  return stringify({
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'Mesh',
    metadata: { name: 'sidecast' },
    spec: { bridge },
  });
}

function bridgeSettings(r: Resolved): string {
  const auth =
    r.mode === 'envoy'
      ? { producers: [{ name: 'envoy-sidecars', tokens: [r.producerToken], topics: ['>'] }] }
      : {
          // The bridge's own Istio sidecar terminates mTLS and forwards the caller's SPIFFE ID in
          // x-forwarded-client-cert; the AuthorizationPolicy below admits only mesh workloads.
          forwardedClientCert: { trust: true, by: [`spiffe://cluster.local/ns/${r.namespace}/sa/${BRIDGE}`] },
          // Every mesh workload may publish anywhere; narrow per namespace/service account and topic.
          producers: [
            { name: 'mesh-workloads', identities: ['spiffe://cluster.local/ns/*/sa/*'], topics: ['>'] },
          ],
        };
  return stringify({
    broker: { url: `embedded://${DATA_DIR}/broker` },
    spool: { dir: `${DATA_DIR}/spool` },
    http: { host: '0.0.0.0', port: BRIDGE_HTTP_PORT },
    grpc: { host: '0.0.0.0', port: BRIDGE_GRPC_PORT },
    admin: { host: '0.0.0.0', port: BRIDGE_ADMIN_PORT },
    auth,
  });
}

function rbac(r: Resolved): Json[] {
  const crdRules = [
    {
      apiGroups: [GROUP],
      resources: ['eventroutes', 'subscriptions', 'meshservices'],
      verbs: ['get', 'list', 'watch'],
    },
    {
      apiGroups: [GROUP],
      resources: ['eventroutes/status', 'subscriptions/status', 'meshservices/status'],
      verbs: ['patch'],
    },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] },
  ];
  if (r.mode === 'istio')
    crdRules.push({
      apiGroups: ['extensions.istio.io'],
      resources: ['wasmplugins'],
      verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    });
  const subject = { kind: 'ServiceAccount', name: XDS, namespace: r.namespace };
  const out: Json[] = [];
  if (r.watchNamespaces.length === 0) {
    out.push(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: XDS, labels: labels(XDS, r) },
        rules: crdRules,
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: XDS, labels: labels(XDS, r) },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: XDS },
        subjects: [subject],
      },
    );
  } else {
    // Scoped install: the same rules as a Role in each watched namespace, nothing cluster-wide.
    for (const ns of r.watchNamespaces)
      out.push(
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { ...meta(XDS, r), namespace: ns },
          rules: crdRules,
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { ...meta(XDS, r), namespace: ns },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: XDS },
          subjects: [subject],
        },
      );
  }
  // The status-writer Lease, only in sidecast's own namespace; create cannot be limited by name.
  out.push(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(`${XDS}-lease`, r, XDS),
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          resourceNames: [STATUS_LEASE],
          verbs: ['get', 'update'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`${XDS}-lease`, r, XDS),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${XDS}-lease` },
      subjects: [subject],
    },
  );
  return out;
}

function xdsDeployment(r: Resolved): Json {
  const env: Json[] = [
    { name: 'SIDECAST_MESH', value: '/etc/sidecast/mesh.yaml' },
    { name: 'SIDECAST_MESH_SOURCE', value: 'kubernetes' },
    { name: 'SIDECAST_XDS_GRPC', value: `0.0.0.0:${XDS_GRPC_PORT}` },
    { name: 'SIDECAST_XDS_ADMIN', value: `0.0.0.0:${XDS_ADMIN_PORT}` },
    { name: 'SIDECAST_WATCH_NAMESPACES', value: r.watchNamespaces.join(',') },
    { name: 'SIDECAST_STATUS_LEASE', value: STATUS_LEASE },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  ];
  if (r.mode === 'istio')
    env.push(
      { name: 'SIDECAST_ISTIO_WASM_URL', value: r.wasmImage },
      { name: 'SIDECAST_ISTIO_BRIDGE_CLUSTER', value: istioBridgeCluster(r.namespace) },
    );
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(XDS, r),
    spec: {
      replicas: 2,
      selector: { matchLabels: selector(XDS) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...labels(XDS, r), 'sidecar.istio.io/inject': 'false' },
        },
        spec: {
          serviceAccountName: XDS,
          securityContext: podSecurity,
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector(XDS) },
            },
          ],
          containers: [
            {
              name: 'xds-server',
              image: r.image,
              args: ['xds-server'],
              env,
              ports: [
                { name: 'grpc-xds', containerPort: XDS_GRPC_PORT },
                { name: 'http-admin', containerPort: XDS_ADMIN_PORT },
              ],
              readinessProbe: probe('/readyz', 'http-admin', 5),
              livenessProbe: probe('/healthz', 'http-admin', 10),
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              securityContext: containerSecurity,
              volumeMounts: [
                { name: 'config', mountPath: '/etc/sidecast', readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            {
              name: 'config',
              secret: { secretName: 'sidecast-config', items: [{ key: 'mesh.yaml', path: 'mesh.yaml' }] },
            },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
}

function bridgeStatefulSet(r: Resolved): Json {
  const podLabels: Json = {
    ...labels(BRIDGE, r),
    'sidecar.istio.io/inject': r.mode === 'istio' ? 'true' : 'false',
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(BRIDGE, r),
    spec: {
      // Exactly one: the embedded broker is this pod's volume. Scale out with an external broker
      // (NATS, RabbitMQ, Kafka, MQTT) and a Deployment instead (docs/kubernetes.md).
      replicas: 1,
      serviceName: `${BRIDGE}-headless`,
      podManagementPolicy: 'OrderedReady',
      selector: { matchLabels: selector(BRIDGE) },
      template: {
        metadata: {
          labels: podLabels,
          // The sidecar must forward the caller's identity; istio-proxy does so by default for mTLS.
          annotations:
            r.mode === 'istio'
              ? { 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}' }
              : {},
        },
        spec: {
          serviceAccountName: BRIDGE,
          automountServiceAccountToken: false, // the bridge never talks to the Kubernetes API
          securityContext: podSecurity,
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: 'broker-bridge',
              image: r.image,
              args: ['bridge'],
              env: [
                { name: 'SIDECAST_BRIDGE_CONFIG', value: '/etc/sidecast/bridge.yaml' },
                {
                  name: 'SIDECAST_XDS_SERVER',
                  value: `${XDS}.${r.namespace}.svc.cluster.local:${XDS_GRPC_PORT}`,
                },
                { name: 'SIDECAST_BRIDGE_NODE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              ports: [
                { name: 'http-ingest', containerPort: BRIDGE_HTTP_PORT },
                { name: 'grpc-ingest', containerPort: BRIDGE_GRPC_PORT },
                { name: 'http-admin', containerPort: BRIDGE_ADMIN_PORT },
              ],
              readinessProbe: probe('/readyz', 'http-admin', 5),
              livenessProbe: probe('/healthz', 'http-admin', 10),
              resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
              securityContext: containerSecurity,
              volumeMounts: [
                { name: 'config', mountPath: '/etc/sidecast', readOnly: true },
                { name: 'data', mountPath: DATA_DIR },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            {
              name: 'config',
              secret: { secretName: 'sidecast-config', items: [{ key: 'bridge.yaml', path: 'bridge.yaml' }] },
            },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: labels(BRIDGE, r) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: r.bridgeStorage } },
            ...(r.storageClassName ? { storageClassName: r.storageClassName } : {}),
          },
        },
      ],
    },
  };
}

const service = (name: string, component: string, r: Resolved, ports: Json[], extra: Json = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: meta(name, r, component),
  spec: { selector: selector(component), ports, ...extra },
});

function networkPolicies(r: Resolved): Json[] {
  const policy = (component: string, ports: number[]) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(component, r),
    spec: {
      podSelector: { matchLabels: selector(component) },
      policyTypes: ['Ingress'],
      // Sidecars and bridges anywhere in the cluster connect to these ports; nothing else is open.
      ingress: [
        { from: [{ namespaceSelector: {} }], ports: ports.map((port) => ({ protocol: 'TCP', port })) },
      ],
    },
  });
  const bridgePorts = [BRIDGE_HTTP_PORT, BRIDGE_GRPC_PORT, BRIDGE_ADMIN_PORT];
  // On Istio, application traffic to the bridge arrives at its sidecar (15006) after iptables
  // redirection; the NetworkPolicy sees the original port, so the list stays the same.
  return [policy(XDS, [XDS_GRPC_PORT, XDS_ADMIN_PORT]), policy(BRIDGE, bridgePorts)];
}

function istioResources(r: Resolved): Json[] {
  const host = `${BRIDGE}.${r.namespace}.svc.cluster.local`;
  return [
    {
      // Only mTLS to the bridge: the identity in x-forwarded-client-cert is then the one istio-proxy verified.
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: meta(BRIDGE, r),
      spec: { selector: { matchLabels: selector(BRIDGE) }, mtls: { mode: 'STRICT' } },
    },
    {
      // Ingest only from authenticated mesh workloads; admin only from inside the namespace
      // (Prometheus scrapes through its own sidecar or via the namespace's NetworkPolicy).
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: meta(BRIDGE, r),
      spec: {
        selector: { matchLabels: selector(BRIDGE) },
        action: 'ALLOW',
        rules: [
          {
            from: [{ source: { principals: ['*'] } }],
            to: [
              { operation: { ports: [String(BRIDGE_HTTP_PORT)], methods: ['POST'], paths: ['/v1/events'] } },
            ],
          },
          {
            from: [{ source: { principals: ['*'] } }],
            to: [{ operation: { ports: [String(BRIDGE_GRPC_PORT)] } }],
          },
          { to: [{ operation: { ports: [String(BRIDGE_ADMIN_PORT)], methods: ['GET'] } }] },
        ],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: meta(BRIDGE, r),
      spec: {
        host,
        exportTo: ['*'],
        trafficPolicy: {
          tls: { mode: 'ISTIO_MUTUAL' },
          connectionPool: {
            tcp: { connectTimeout: '1s', maxConnections: 100 },
            http: { http2MaxRequests: 1000, http1MaxPendingRequests: 100, maxRetries: 0 },
          },
          outlierDetection: { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s' },
        },
      },
    },
  ];
}

function serviceMonitor(r: Resolved): Json {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: meta('sidecast', r, 'sidecast'),
    spec: {
      selector: {
        matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: [XDS, BRIDGE] }],
      },
      namespaceSelector: { matchNames: [r.namespace] },
      endpoints: [{ port: 'http-admin', path: '/metrics', interval: '30s' }],
    },
  };
}

/** Every object of an install, in apply order (namespace and CRDs first). */
export function renderManifests(options: InstallOptions = {}): Json[] {
  const r = resolve(options);
  const admin = (port: number) => ({ name: 'http-admin', port, targetPort: 'http-admin', protocol: 'TCP' });
  const objects: Json[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: r.namespace,
        // istio-init needs NET_ADMIN (unless Istio CNI is installed), which "restricted" forbids.
        labels: {
          ...labels('sidecast', r),
          [`pod-security.kubernetes.io/${r.mode === 'istio' ? 'warn' : 'enforce'}`]: 'restricted',
        },
      },
    },
    ...crds(),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(XDS, r) },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta(BRIDGE, r),
      automountServiceAccountToken: false,
    },
    ...rbac(r),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta('sidecast-config', r, 'sidecast'),
      type: 'Opaque',
      stringData: { 'mesh.yaml': meshSettings(r), 'bridge.yaml': bridgeSettings(r) },
    },
    xdsDeployment(r),
    service(XDS, XDS, r, [
      { name: 'grpc-xds', port: XDS_GRPC_PORT, targetPort: 'grpc-xds', protocol: 'TCP', appProtocol: 'grpc' },
      admin(XDS_ADMIN_PORT),
    ]),
    bridgeStatefulSet(r),
    service(BRIDGE, BRIDGE, r, [
      {
        name: 'http-ingest',
        port: BRIDGE_HTTP_PORT,
        targetPort: 'http-ingest',
        protocol: 'TCP',
        appProtocol: 'http',
      },
      {
        name: 'grpc-ingest',
        port: BRIDGE_GRPC_PORT,
        targetPort: 'grpc-ingest',
        protocol: 'TCP',
        appProtocol: 'grpc',
      },
      admin(BRIDGE_ADMIN_PORT),
    ]),
    // Stable pod DNS for the StatefulSet; no admin port, so the ServiceMonitor scrapes the bridge once.
    service(
      `${BRIDGE}-headless`,
      BRIDGE,
      r,
      [{ name: 'http-ingest', port: BRIDGE_HTTP_PORT, targetPort: 'http-ingest', protocol: 'TCP' }],
      {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
      },
    ),
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(XDS, r),
      spec: { minAvailable: 1, selector: { matchLabels: selector(XDS) } },
    },
    {
      // One replica: a budget of 1 lets node drains proceed (its volume follows it); minAvailable 1
      // would block every drain forever.
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(BRIDGE, r),
      spec: { maxUnavailable: 1, selector: { matchLabels: selector(BRIDGE) } },
    },
    ...networkPolicies(r),
  ];
  if (r.serviceMonitor) objects.push(serviceMonitor(r));
  if (r.mode === 'istio') objects.push(...istioResources(r));
  return objects;
}

/** A multi-document YAML stream for `kubectl apply -f -`. */
export function manifestsYaml(objects: Json[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}
