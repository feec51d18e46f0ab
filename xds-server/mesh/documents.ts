// YAML text → Kubernetes-style documents checked against the schemas, each able to say on which
// line a field sits, so errors point at file, document, field and line.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { envelopeSchema, KIND_ALIASES, specSchemas, type Kind } from './schema.js';
import type { MeshIssue } from './types.js';

export interface MeshSource {
  file: string;
  text: string;
}

export interface MeshDocument {
  file: string;
  /** 1-based position in its file. */
  index: number;
  kind: Kind;
  name: string;
  spec: Record<string, unknown>;
  /** Issue at a field path (segments like ['spec', 'endpoints', 0]) of this document. */
  issue(path: (string | number)[], message: string): MeshIssue;
}

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, verbose: true });
const checkEnvelope = ajv.compile(envelopeSchema);
const checkSpec = Object.fromEntries(
  Object.entries(specSchemas).map(([k, s]) => [k, ajv.compile(s)]),
) as Record<Kind, ValidateFunction>;

/** Parses and schema-checks every document; problems go to `issues`, valid documents are returned. */
export function readDocuments(sources: MeshSource[], issues: MeshIssue[]): MeshDocument[] {
  const out: MeshDocument[] = [];
  for (const { file, text } of sources) {
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true });
    if (!Array.isArray(docs)) continue; // empty stream: no documents
    docs.forEach((doc, i) => {
      const index = i + 1;
      const at = (path: (string | number)[]) => lineOf(doc, lines, path);
      const problem: Problem = (path, message, kind, name) => ({
        file,
        document: index,
        kind,
        name,
        field: fieldPath(path),
        line: at(path),
        message,
      });
      for (const e of [...doc.errors, ...doc.warnings]) {
        issues.push({
          file,
          document: index,
          line: e.linePos?.[0]?.line,
          message: `YAML: ${e.message.split('\n')[0]}`,
        });
      }
      if (doc.errors.length || doc.contents === null) return;
      const checked = checkDocument(doc.toJS({ maxAliasCount: 100 }), file, index, problem, issues);
      if (checked) out.push(checked);
    });
  }
  return out;
}

export type Problem = (path: (string | number)[], message: string, kind?: string, name?: string) => MeshIssue;

/**
 * Checks one object (a YAML document or a custom resource) against the envelope and its kind's
 * spec schema. Problems go to `issues`; a valid object comes back with its kind made canonical
 * (`MeshService` → `Service`).
 */
export function checkDocument(
  raw: unknown,
  file: string,
  index: number,
  problem: Problem,
  issues: MeshIssue[],
): MeshDocument | undefined {
  if (!checkEnvelope(raw)) {
    issues.push(...ajvIssues(checkEnvelope.errors, [], problem));
    // Still check the spec of a known kind: every problem of the document is reported at once.
    const {
      kind: w,
      metadata: md,
      spec: sp,
    } = (raw ?? {}) as {
      kind?: unknown;
      metadata?: { name?: unknown };
      spec?: unknown;
    };
    const k = typeof w === 'string' ? ((KIND_ALIASES as Record<string, Kind>)[w] ?? w) : undefined;
    const checkKind = k !== undefined && Object.hasOwn(checkSpec, k) ? checkSpec[k as Kind] : undefined;
    if (checkKind && sp && typeof sp === 'object' && !checkKind(sp)) {
      const name = typeof md?.name === 'string' ? md.name : undefined;
      issues.push(
        ...ajvIssues(checkKind.errors, ['spec'], (path, message) => problem(path, message, k, name)),
      );
    }
    return undefined;
  }
  const {
    kind: written,
    metadata,
    spec,
  } = raw as {
    kind: Kind | keyof typeof KIND_ALIASES;
    metadata: { name: string };
    spec: Record<string, unknown>;
  };
  const kind: Kind =
    written in KIND_ALIASES ? KIND_ALIASES[written as keyof typeof KIND_ALIASES] : (written as Kind);
  const named = (path: (string | number)[], message: string) => problem(path, message, kind, metadata.name);
  const checkKind = checkSpec[kind];
  if (!checkKind(spec)) {
    issues.push(...ajvIssues(checkKind.errors, ['spec'], named));
    return undefined;
  }
  return { file, index, kind, name: metadata.name, spec, issue: named };
}

function ajvIssues(
  errors: ErrorObject[] | null | undefined,
  prefix: (string | number)[],
  problem: (path: (string | number)[], message: string) => MeshIssue,
): MeshIssue[] {
  const seen = new Set<string>();
  const out: MeshIssue[] = [];
  for (const e of errors ?? []) {
    // oneOf/anyOf failures repeat what their branches already said; keep the branch messages.
    // oneOf/anyOf alternatives fail one by one; report the combined rule once instead.
    if (e.schemaPath.includes('/anyOf/') || e.schemaPath.includes('/oneOf/')) continue;
    const path = [
      ...prefix,
      ...e.instancePath
        .split('/')
        .slice(1)
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~'))),
    ];
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      path.push(String(e.params.additionalProperty));
      message = `unknown field; allowed here: ${Object.keys((e.parentSchema as { properties: object }).properties).join(', ')}`;
    } else if (e.keyword === 'required') {
      path.push(String(e.params.missingProperty));
      message = 'is required';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'const') {
      message = `must be ${JSON.stringify(e.params.allowedValue)}`;
    } else if (e.keyword === 'anyOf') {
      message = 'needs routeName or path (or both)';
    } else if (e.keyword === 'oneOf') {
      const forms = e.schema as { required?: string[] }[];
      message = forms.every((f) => f.required)
        ? `give exactly one of ${forms.map((f) => f.required!.join('+')).join(', ')}`
        : 'must be one of the allowed forms (see docs/mesh-config.md)';
    } else if (e.keyword === 'pattern') {
      message = patternHint(String(e.params.pattern));
    }
    const key = `${path.join('.')}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(problem(path, message));
  }
  return out;
}

function patternHint(pattern: string): string {
  if (pattern.includes('(ms|s|m|h)')) return 'must be a duration like 500ms, 5s, 2m or 1h';
  if (pattern.startsWith('^[a-z0-9]([-a-z0-9]*'))
    return 'must be a lowercase DNS label (a-z, 0-9, "-", at most 63 characters)';
  if (pattern.includes(':[0-9]{1,5}$')) return 'must be host:port, e.g. 127.0.0.1:8081';
  if (pattern === '^/') return 'must start with "/"';
  if (pattern === '^[A-Z]+$') return 'must be an upper-case HTTP method like POST';
  if (pattern === '^[1-5]xx$') return 'must be a status code or a class like "2xx"';
  return `must match ${pattern}`;
}

export function fieldPath(path: (string | number)[]): string | undefined {
  if (path.length === 0) return undefined;
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function lineOf(doc: Document, lines: LineCounter, path: (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
