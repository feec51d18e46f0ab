// JSON Schemas of the mesh documents (docs/mesh-config.md is the prose version). Every object is
// closed (additionalProperties: false) so a typo'd field is an error, not a silently ignored key.
const name = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
const duration = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$' };
const port = { type: 'integer', minimum: 1, maximum: 65535 };
const hostPort = { type: 'string', pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$' };
const httpPath = { type: 'string', pattern: '^/' };
const closed = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});

/** v1alpha1 is the CRD version; v1 is what mesh files said before the CRDs existed. */
export const API_VERSIONS = ['sidecast.io/v1alpha1', 'sidecast.io/v1'] as const;
/** Kinds that name another kind's spec: `MeshService` is the CRD kind (a `Service` kind would clash with core Services in kubectl). */
export const KIND_ALIASES = { MeshService: 'Service' } as const;

export const envelopeSchema = closed(
  {
    apiVersion: { enum: [...API_VERSIONS] },
    kind: { enum: ['Mesh', 'Service', 'MeshService', 'EventRoute', 'Subscription'] },
    metadata: closed(
      {
        name,
        namespace: { type: 'string' },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
      },
      ['name'],
    ),
    spec: { type: 'object' },
  },
  ['apiVersion', 'kind', 'metadata', 'spec'],
);

const meshSpec = closed({
  bridge: closed(
    {
      address: { type: 'string', minLength: 1 },
      port,
      authority: { type: 'string', minLength: 1 },
      path: httpPath,
      timeout: duration,
      token: { type: 'string', minLength: 1 },
    },
    ['address', 'port'],
  ),
  source: { type: 'string', minLength: 1 },
  emitter: closed({
    wasmFile: { type: 'string', pattern: '^/' },
    annotateRoutes: { type: 'boolean' },
    batch: closed({
      maxEvents: { type: 'integer', minimum: 1, maximum: 1000 },
      maxBytes: { type: 'integer', minimum: 1024, maximum: 4194304 },
      flushInterval: duration,
      maxBufferedEvents: { type: 'integer', minimum: 1, maximum: 100000 },
    }),
    retry: closed({
      maxAttempts: { type: 'integer', minimum: 1, maximum: 100 },
      baseDelay: duration,
      maxDelay: duration,
    }),
  }),
});

const serviceSpec = closed(
  {
    endpoints: { type: 'array', minItems: 1, items: hostPort },
    sidecar: closed({ inboundPort: port, outboundPort: port }),
    calls: { type: 'array', items: name, uniqueItems: true },
  },
  // Required in files; on Kubernetes, EndpointSlices stand in when it is left out (model.ts).
  [],
);

const statusItem = {
  oneOf: [
    { type: 'integer', minimum: 100, maximum: 599 },
    { type: 'string', pattern: '^[1-5]xx$' },
  ],
};
const eventRouteSpec = closed(
  {
    service: name,
    match: {
      ...closed({
        routeName: { type: 'string', minLength: 1 },
        method: {
          oneOf: [
            { type: 'string', pattern: '^[A-Z]+$' },
            { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[A-Z]+$' } },
          ],
        },
        path: httpPath,
        host: { type: 'string', minLength: 1 },
        headers: {
          type: 'array',
          items: {
            ...closed(
              {
                name: { type: 'string', pattern: '^[a-z0-9-]+$' },
                exact: { type: 'string' },
                present: { type: 'boolean' },
              },
              ['name'],
            ),
            oneOf: [{ required: ['exact'] }, { required: ['present'] }],
          },
        },
        status: { type: 'array', minItems: 1, items: statusItem },
      }),
      anyOf: [{ required: ['routeName'] }, { required: ['path'] }],
    },
    event: closed(
      {
        type: { type: 'string', minLength: 1 },
        topic: { type: 'string', minLength: 1 },
        subject: { type: 'string', minLength: 1 },
        partitionKey: { type: 'string', minLength: 1 },
        data: closed({
          from: { enum: ['request_body', 'response_body', 'none'] },
          field: { type: ['string', 'null'] },
          redact: { type: 'array', items: { type: 'string', minLength: 1 } },
        }),
        maxBodyBytes: { type: 'integer', minimum: 0, maximum: 1048576 },
        sampling: { type: 'number', minimum: 0, maximum: 1 },
        delivery: { enum: ['async', 'guaranteed'] },
        deadline: duration,
        onFailure: { enum: ['release', 'reject'] },
        // Data contract: a JSON Schema object inline, or the path of a JSON/YAML file next to the mesh file.
        dataSchema: { type: 'object' },
        dataSchemaFile: { type: 'string', minLength: 1 },
        schemaPolicy: { enum: ['reject', 'deadLetter', 'warn'] },
      },
      ['type', 'topic'],
    ),
  },
  ['service', 'match', 'event'],
);

const subscriptionSpec = closed(
  {
    service: name,
    topics: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    delivery: closed(
      {
        path: httpPath,
        timeout: duration,
        retry: closed({
          attempts: { type: 'integer', minimum: 1 },
          backoff: { enum: ['exponential', 'linear'] },
          baseDelay: duration,
          maxDelay: duration,
          retryAfterCap: duration,
        }),
        deadLetterTopic: { type: 'string', minLength: 1 },
        orderByKey: { type: 'boolean' },
        concurrency: { type: 'integer', minimum: 1 },
        batch: closed({ maxEvents: { type: 'integer', minimum: 1, maximum: 1000 }, maxWait: duration }, [
          'maxEvents',
        ]),
      },
      ['path'],
    ),
    // CEL over CloudEvents attributes and `data`; compiled (and NACKed when it does not) by the bridge.
    filter: { type: 'string', minLength: 1 },
    routes: {
      type: 'array',
      minItems: 1,
      items: closed({ filter: { type: 'string', minLength: 1 }, path: httpPath }, ['filter', 'path']),
    },
  },
  ['service', 'topics', 'delivery'],
);

export const specSchemas = {
  Mesh: meshSpec,
  Service: serviceSpec,
  EventRoute: eventRouteSpec,
  Subscription: subscriptionSpec,
} as const;

export type Kind = keyof typeof specSchemas;
