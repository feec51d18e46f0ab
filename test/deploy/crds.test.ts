// The CRDs are generated from the loader's schemas: they must be valid apiextensions.k8s.io/v1
// objects, structural, and agree with the loader on every field — both by walking the two schemas
// side by side and by giving the same verdict on the same specs.
import { describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import { CRD_KINDS, crds, LOOSER_IN_CRD } from '../../deploy/crds.js';
import { specSchemas } from '../../xds-server/mesh/schema.js';
import { validateObject } from './k8s-schemas.js';
import { SPECS } from './specs.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- schema trees

const openApiOf = (kind: string): Json => {
  const c = crds().find((x) => (x as Json).spec.names.kind === kind) as Json;
  return c.spec.versions[0].schema.openAPIV3Schema;
};

/** The structural-schema rules of apiextensions.k8s.io/v1; returns every violation found. */
function structuralViolations(node: Json, at: string, inJunctor = false): string[] {
  const out: string[] = [];
  const typeless = node['x-kubernetes-int-or-string'] || node['x-kubernetes-preserve-unknown-fields'];
  if (!inJunctor && !node.type && !typeless) out.push(`${at}: no type`);
  if (inJunctor)
    for (const k of ['type', 'description', 'default', 'additionalProperties', 'nullable'])
      if (k in node) out.push(`${at}: "${k}" inside a junctor`);
  if (node.uniqueItems) out.push(`${at}: uniqueItems`);
  if (node.additionalProperties === false) out.push(`${at}: additionalProperties: false`);
  if (node.properties && node.additionalProperties) out.push(`${at}: properties and additionalProperties`);
  for (const [k, v] of Object.entries((node.properties ?? {}) as Json))
    out.push(...structuralViolations(v, `${at}.${k}`, inJunctor));
  if (typeof node.additionalProperties === 'object')
    out.push(...structuralViolations(node.additionalProperties, `${at}.*`, inJunctor));
  if (node.items) out.push(...structuralViolations(node.items, `${at}[]`, inJunctor));
  for (const j of ['oneOf', 'anyOf', 'allOf'])
    for (const [i, branch] of ((node[j] ?? []) as Json[]).entries()) {
      const intOrString = node['x-kubernetes-int-or-string'] && j === 'anyOf';
      if (intOrString) continue; // the one allowed typed junctor pattern
      out.push(...structuralViolations(branch, `${at}.${j}[${i}]`, true));
      for (const k of Object.keys(branch.properties ?? {}))
        if (!node.properties?.[k]) out.push(`${at}.${j}[${i}].${k}: not also specified outside the junctor`);
    }
  return out;
}

/** Walks loader and CRD schemas together; every difference outside LOOSER_IN_CRD is reported. */
function disagreements(loader: Json, crd: Json, at: string): string[] {
  if (LOOSER_IN_CRD.includes(at)) return [];
  const out: string[] = [];
  const loaderProps = Object.keys(loader.properties ?? {}).sort();
  const crdProps = Object.keys(crd.properties ?? {}).sort();
  if (loaderProps.join() !== crdProps.join())
    out.push(`${at}: fields ${loaderProps.join(',')} in the loader, ${crdProps.join(',')} in the CRD`);
  const loaderType = Array.isArray(loader.type)
    ? loader.type.filter((t: string) => t !== 'null')[0]
    : loader.type;
  if ((loaderType ?? crd.type) !== crd.type) out.push(`${at}: type ${loaderType} vs ${crd.type}`);
  if (Array.isArray(loader.type) && loader.type.includes('null') !== !!crd.nullable)
    out.push(`${at}: nullability`);
  for (const k of [
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
  ])
    if (loader[k] !== crd[k]) out.push(`${at}: ${k} ${loader[k]} vs ${crd[k]}`);
  const sorted = (a: unknown) => JSON.stringify([...((a as unknown[]) ?? [])].sort());
  if (sorted(loader.enum) !== sorted(crd.enum)) out.push(`${at}: enum differs`);
  if (sorted(loader.required) !== sorted(crd.required))
    out.push(`${at}: required ${sorted(loader.required)} vs ${sorted(crd.required)}`);
  if (!!loader.uniqueItems !== (crd['x-kubernetes-list-type'] === 'set')) out.push(`${at}: uniqueness`);
  for (const j of ['oneOf', 'anyOf'])
    if (loader[j] && JSON.stringify(loader[j]) !== JSON.stringify(crd[j])) out.push(`${at}: ${j} differs`);
  for (const k of loaderProps)
    if (crd.properties?.[k])
      out.push(...disagreements(loader.properties[k], crd.properties[k], `${at}.${k}`));
  if (loader.items) out.push(...disagreements(loader.items, crd.items ?? {}, `${at}[]`));
  if (typeof loader.additionalProperties === 'object')
    out.push(...disagreements(loader.additionalProperties, crd.additionalProperties ?? {}, `${at}.*`));
  return out;
}

/**
 * What the API server accepts, as a JSON Schema: closed objects (kubectl's default strict field
 * validation rejects unknown fields), nullable, int-or-string, preserve-unknown-fields.
 */
function asApiServer(node: Json): Json {
  if (node['x-kubernetes-preserve-unknown-fields']) return {};
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-') || k === 'description' || k === 'format' || k === 'nullable') continue;
    if (k === 'properties')
      out.properties = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, asApiServer(s)]));
    else if (k === 'items' || k === 'additionalProperties') out[k] = asApiServer(v as Json);
    else if (k === 'oneOf' || k === 'anyOf') out[k] = (v as Json[]).map(asApiServer);
    else out[k] = v;
  }
  if (node.nullable) out.type = [node.type, 'null'];
  if (node['x-kubernetes-int-or-string']) out.type = ['integer', 'string'];
  if (node.properties) out.additionalProperties = false;
  if (node['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  return out;
}

describe('CRDs generated from xds-server/mesh/schema.ts', () => {
  it('are valid apiextensions.k8s.io/v1 CustomResourceDefinitions', () => {
    for (const c of crds()) validateObject(c as never);
  });

  it('are structural', () => {
    for (const c of CRD_KINDS) expect(structuralViolations(openApiOf(c.kind), c.kind)).toEqual([]);
  });

  it('have a status subresource, conditions as a map list and printer columns for the conditions', () => {
    for (const c of crds() as Json[]) {
      const v = c.spec.versions[0];
      expect(v.subresources).toEqual({ status: {} });
      const conditions = v.schema.openAPIV3Schema.properties.status.properties.conditions;
      expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
      expect(Object.keys(conditions.items.properties).sort()).toEqual([
        'lastTransitionTime',
        'message',
        'observedGeneration',
        'reason',
        'status',
        'type',
      ]);
      expect(v.additionalPrinterColumns.map((p: Json) => p.name)).toEqual(
        expect.arrayContaining(['Accepted', 'Ready', 'Reason']),
      );
    }
  });

  it('agree with the loader on every field (walking both schemas)', () => {
    for (const c of CRD_KINDS) {
      const crdSpec = openApiOf(c.kind).properties.spec;
      expect(disagreements(specSchemas[c.meshKind] as Json, crdSpec, `${c.kind}.spec`)).toEqual([]);
    }
  });

  it('keeps free-form objects (an inline dataSchema) instead of letting the API server prune them', () => {
    const walk = (n: Json, at: string): string[] => [
      ...(n.type === 'object' &&
      !n.properties &&
      !n.additionalProperties &&
      !n['x-kubernetes-preserve-unknown-fields']
        ? [at]
        : []),
      ...Object.entries((n.properties ?? {}) as Json).flatMap(([k, v]) => walk(v, `${at}.${k}`)),
      ...(n.items ? walk(n.items, `${at}[]`) : []),
    ];
    for (const c of CRD_KINDS) expect(walk(openApiOf(c.kind).properties.spec, `${c.kind}.spec`)).toEqual([]);
  });

  it('the walk notices a field the CRD lacks or checks differently', () => {
    const crdSpec = structuredClone(openApiOf('Subscription').properties.spec);
    delete crdSpec.properties.delivery.properties.orderByKey;
    crdSpec.properties.delivery.properties.concurrency.minimum = 0;
    expect(disagreements(specSchemas.Subscription as Json, crdSpec, 'Subscription.spec')).toEqual([
      expect.stringContaining('Subscription.spec.delivery: fields'),
      'Subscription.spec.delivery.concurrency: minimum 1 vs 0',
    ]);
  });

  it('give the loader verdict on every sample spec, except where the CRD is documented as looser', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    for (const c of CRD_KINDS) {
      const loader = ajv.compile(specSchemas[c.meshKind]);
      const apiServer = ajv.compile(asApiServer(openApiOf(c.kind).properties.spec));
      for (const sample of SPECS.filter((s) => s.kind === c.meshKind)) {
        const verdict = { loader: loader(sample.spec), apiServer: apiServer(sample.spec) };
        const expected = sample.looserInCrd
          ? { loader: false, apiServer: true }
          : { loader: sample.valid, apiServer: sample.valid };
        expect({ name: sample.name, ...verdict }).toEqual({ name: sample.name, ...expected });
      }
    }
  });
});
