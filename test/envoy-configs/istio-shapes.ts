// Shapes of the Istio resources in envoy-configs/istio/ (istio/api extensions/v1alpha1/wasm.proto,
// networking/v1 destination_rule.proto and service_entry.proto, as of Istio 1.27), as closed JSON
// Schemas: a typo'd or mistyped field fails like it would in `kubectl apply` with Istio's CRDs.
const closed = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});
const str = { type: 'string' };
const strs = { type: 'array', items: str };
const int = { type: 'integer' };
const duration = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$' };
const labels = { type: 'object', additionalProperties: str };
const metadata = closed({ name: str, namespace: str, labels, annotations: labels }, ['name']);
const resource = (apiVersions: string[], kind: string, spec: object) =>
  closed({ apiVersion: { enum: apiVersions }, kind: { const: kind }, metadata, spec }, [
    'apiVersion',
    'kind',
    'metadata',
    'spec',
  ]);
const targetRef = closed({ group: str, kind: str, name: str, namespace: str }, ['kind', 'name']);

const wasmPluginSpec = closed(
  {
    selector: closed({ matchLabels: labels }),
    targetRef,
    targetRefs: { type: 'array', items: targetRef, maxItems: 16 },
    url: { type: 'string', minLength: 1, pattern: '^((oci|https?|file)://)?[^\\s]+$' },
    sha256: { type: 'string', pattern: '^(|[a-f0-9]{64})$' },
    imagePullPolicy: { enum: ['UNSPECIFIED_POLICY', 'IfNotPresent', 'Always'] },
    imagePullSecret: { type: 'string', minLength: 1, maxLength: 253 },
    pluginConfig: { type: 'object' },
    pluginName: { type: 'string', minLength: 1, maxLength: 256 },
    phase: { enum: ['UNSPECIFIED_PHASE', 'AUTHN', 'AUTHZ', 'STATS'] },
    priority: int,
    failStrategy: { enum: ['FAIL_CLOSE', 'FAIL_OPEN', 'FAIL_RELOAD'] },
    vmConfig: closed({
      env: {
        type: 'array',
        items: closed({ name: str, value: str, valueFrom: { enum: ['INLINE', 'HOST'] } }, ['name']),
      },
    }),
    match: {
      type: 'array',
      items: closed({
        mode: { enum: ['UNDEFINED', 'CLIENT', 'SERVER', 'CLIENT_AND_SERVER'] },
        ports: { type: 'array', items: closed({ number: int }, ['number']) },
      }),
    },
    type: { enum: ['UNSPECIFIED_PLUGIN_TYPE', 'HTTP', 'NETWORK'] },
  },
  ['url'],
);

const tls = closed({
  mode: { enum: ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] },
  clientCertificate: str,
  privateKey: str,
  caCertificates: str,
  credentialName: str,
  subjectAltNames: strs,
  sni: str,
  insecureSkipVerify: { type: 'boolean' },
});
const trafficPolicy = closed({
  loadBalancer: closed({
    simple: { enum: ['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'] },
  }),
  connectionPool: closed({
    tcp: closed({
      maxConnections: int,
      connectTimeout: duration,
      idleTimeout: duration,
      maxConnectionDuration: duration,
    }),
    http: closed({
      http1MaxPendingRequests: int,
      http2MaxRequests: int,
      maxRequestsPerConnection: int,
      maxRetries: int,
      idleTimeout: duration,
      h2UpgradePolicy: { enum: ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'] },
      useClientProtocol: { type: 'boolean' },
      maxConcurrentStreams: int,
    }),
  }),
  outlierDetection: closed({
    consecutive5xxErrors: int,
    consecutiveGatewayErrors: int,
    consecutiveLocalOriginFailures: int,
    splitExternalLocalOriginErrors: { type: 'boolean' },
    interval: duration,
    baseEjectionTime: duration,
    maxEjectionPercent: int,
    minHealthPercent: int,
  }),
  tls,
});
const destinationRuleSpec = closed(
  {
    host: str,
    trafficPolicy,
    subsets: { type: 'array', items: closed({ name: str, labels, trafficPolicy }, ['name']) },
    exportTo: strs,
    workloadSelector: closed({ matchLabels: labels }),
  },
  ['host'],
);

const port = closed(
  {
    number: { type: 'integer', minimum: 1, maximum: 65535 },
    protocol: { enum: ['HTTP', 'HTTPS', 'GRPC', 'HTTP2', 'MONGO', 'TCP', 'TLS'] },
    name: str,
    targetPort: int,
  },
  ['number', 'name'],
);
const serviceEntrySpec = closed(
  {
    hosts: { type: 'array', minItems: 1, items: str },
    addresses: strs,
    ports: { type: 'array', items: port },
    location: { enum: ['MESH_EXTERNAL', 'MESH_INTERNAL'] },
    resolution: { enum: ['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'] },
    endpoints: {
      type: 'array',
      items: closed({
        address: str,
        ports: { type: 'object', additionalProperties: int },
        labels,
        network: str,
        locality: str,
        weight: int,
      }),
    },
    workloadSelector: closed({ matchLabels: labels }),
    exportTo: strs,
    subjectAltNames: strs,
  },
  ['hosts'],
);

const networking = ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'];
export const ISTIO_SCHEMAS: Record<string, object> = {
  WasmPlugin: resource(['extensions.istio.io/v1alpha1'], 'WasmPlugin', wasmPluginSpec),
  DestinationRule: resource(networking, 'DestinationRule', destinationRuleSpec),
  ServiceEntry: resource(networking, 'ServiceEntry', serviceEntrySpec),
};
