// CustomResourceDefinitions (apiextensions.k8s.io/v1) generated from the mesh loader's own JSON
// Schemas (xds-server/mesh/schema.ts), so the API server and the loader check the same fields.
// Structural-schema rules shape the translation: every node has a type, no `type` inside
// oneOf/anyOf, no `uniqueItems`, no `additionalProperties: false` (the API server prunes unknown
// fields and `kubectl apply` rejects them under its default strict field validation).
import { envelopeSchema, specSchemas, type Kind } from '../xds-server/mesh/schema.js';

export const GROUP = 'sidecast.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

type Json = Record<string, unknown>;

export interface CrdKind {
  /** Kind of the custom resource. */
  kind: string;
  /** The mesh-model kind whose spec it carries. */
  meshKind: Kind;
  plural: string;
  singular: string;
  shortNames: string[];
  columns: { name: string; type: string; jsonPath: string; description: string }[];
}

const condition = (type: string, what: 'status' | 'reason') => ({
  name: type === 'Accepted' && what === 'reason' ? 'Reason' : type,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].${what}`,
  description: what === 'status' ? `${type} condition` : `Why ${type} is what it is`,
});
const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age' };
const statusColumns = [
  condition('Accepted', 'status'),
  condition('Ready', 'status'),
  condition('Accepted', 'reason'),
];

export const CRD_KINDS: CrdKind[] = [
  {
    kind: 'EventRoute',
    meshKind: 'EventRoute',
    plural: 'eventroutes',
    singular: 'eventroute',
    shortNames: ['er'],
    columns: [
      {
        name: 'Service',
        type: 'string',
        jsonPath: '.spec.service',
        description: 'Service whose sidecar emits',
      },
      { name: 'Topic', type: 'string', jsonPath: '.spec.event.topic', description: 'Topic template' },
      ...statusColumns,
      age,
    ],
  },
  {
    kind: 'Subscription',
    meshKind: 'Subscription',
    plural: 'subscriptions',
    singular: 'subscription',
    shortNames: ['scsub'],
    columns: [
      { name: 'Service', type: 'string', jsonPath: '.spec.service', description: 'Subscriber service' },
      { name: 'Topics', type: 'string', jsonPath: '.spec.topics', description: 'Topic patterns' },
      { name: 'Path', type: 'string', jsonPath: '.spec.delivery.path', description: 'Delivery path' },
      ...statusColumns,
      age,
    ],
  },
  {
    kind: 'MeshService',
    meshKind: 'Service',
    plural: 'meshservices',
    singular: 'meshservice',
    shortNames: ['msvc'],
    columns: [
      {
        name: 'Endpoints',
        type: 'string',
        jsonPath: '.spec.endpoints',
        description: 'Listed endpoints (empty: EndpointSlices)',
      },
      ...statusColumns,
      age,
    ],
  },
];

/** Keys whose meaning is the same in JSON Schema and in OpenAPI v3 structural schemas. */
const SAME = [
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'multipleOf',
  'pattern',
  'format',
  'description',
  'enum',
  'required',
];

/**
 * JSON Schema node of schema.ts → structural OpenAPI v3 node. Throws on a construct it does not
 * know, so a new keyword in schema.ts cannot be silently dropped from the CRDs.
 */
export function toStructural(node: Json, at: string): Json {
  const out: Json = {};
  const known = new Set([
    ...SAME,
    'type',
    'properties',
    'additionalProperties',
    'items',
    'uniqueItems',
    'const',
    'oneOf',
    'anyOf',
  ]);
  for (const key of Object.keys(node))
    if (!known.has(key))
      throw new Error(`${at}: schema keyword "${key}" has no CRD translation (deploy/crds.ts)`);
  const alternatives = (node.oneOf ?? node.anyOf) as Json[] | undefined;
  const junctor = node.oneOf ? 'oneOf' : 'anyOf';
  const branchTypes = alternatives?.map((a) => a.type).filter((t) => t !== undefined) as string[] | undefined;

  if (node.const !== undefined) {
    out.type = typeof node.const;
    out.enum = [node.const];
  } else if (Array.isArray(node.type)) {
    const types = node.type.filter((t) => t !== 'null');
    if (types.length !== 1)
      throw new Error(`${at}: union type ${node.type.join('|')} has no CRD translation`);
    out.type = types[0];
    if (node.type.includes('null')) out.nullable = true;
  } else if (node.type !== undefined) out.type = node.type;
  else if (node.enum) out.type = typeof (node.enum as unknown[])[0];

  for (const key of SAME)
    if (node[key] !== undefined && !(key === 'required' && (node[key] as []).length === 0))
      out[key] = node[key];
  if (node.uniqueItems) out['x-kubernetes-list-type'] = 'set';
  if (node.properties)
    out.properties = Object.fromEntries(
      Object.entries(node.properties as Record<string, Json>).map(([k, v]) => [
        k,
        toStructural(v, `${at}.${k}`),
      ]),
    );
  if (typeof node.additionalProperties === 'object')
    out.additionalProperties = toStructural(node.additionalProperties as Json, `${at}.*`);
  if (node.items) out.items = toStructural(node.items as Json, `${at}[]`);
  // A free-form object (e.g. an inline JSON Schema): without this the API server would prune it to {}.
  if (out.type === 'object' && !node.properties && node.additionalProperties === undefined)
    out['x-kubernetes-preserve-unknown-fields'] = true;

  if (alternatives && branchTypes?.length) {
    const distinct = [...new Set(branchTypes)].sort();
    if (distinct.join() === 'integer,string') {
      // The one typed junctor structural schemas allow is this exact int-or-string pattern; the
      // branches' bounds and pattern cannot ride along (LOOSER_IN_CRD).
      out['x-kubernetes-int-or-string'] = true;
      out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    } else if (distinct.length === 1) {
      throw new Error(`${at}: alternatives of one type have no CRD translation yet (deploy/crds.ts)`);
    } else {
      // e.g. "a method or a list of methods": no structural form; the controller checks it and
      // reports problems in status.conditions (LOOSER_IN_CRD lists every such field).
      out['x-kubernetes-preserve-unknown-fields'] = true;
      out.description = `one of: ${alternatives.map((a) => a.type).join(', ')} (checked by the sidecast controller)`;
    }
  } else if (alternatives) {
    // Junctors over `required` only: value validations, allowed as they are.
    out[junctor] = alternatives;
  }
  return out;
}

/** Fields the CRD checks less strictly than the loader, because no structural schema can say it. */
export const LOOSER_IN_CRD = ['EventRoute.spec.match.method', 'EventRoute.spec.match.status[]'];

/** metav1.Condition, as every Kubernetes API describes it. */
const conditionSchema = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: {
      type: 'string',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: {
      type: 'string',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    },
    message: { type: 'string', maxLength: 32768 },
  },
};

const statusSchema = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    conditions: {
      type: 'array',
      items: conditionSchema,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
  },
};

export function crd(k: CrdKind): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'sidecast' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        shortNames: k.shortNames,
        categories: ['sidecast'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: k.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `sidecast ${k.kind} (docs/mesh-config.md, docs/kubernetes.md)`,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                // The one metadata restriction structural schemas allow; mesh names are DNS labels.
                metadata: {
                  type: 'object',
                  properties: {
                    name: toStructural(
                      ((envelopeSchema.properties.metadata as Json).properties as Record<string, Json>).name!,
                      `${k.kind}.metadata.name`,
                    ),
                  },
                },
                spec: toStructural(specSchemas[k.meshKind] as Json, `${k.kind}.spec`),
                status: statusSchema,
              },
            },
          },
        },
      ],
    },
  };
}

export function crds(): Json[] {
  return CRD_KINDS.map(crd);
}
