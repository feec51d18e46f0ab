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

/**
 * Parsed and checked documents by their exact text, kept between reloads (the watcher's): an edit
 * re-parses only the documents whose text changed. Only clean documents are kept, and `sweep()`
 * after a reload forgets those the reload did not see (old versions of edited documents).
 */
export class DocumentCache {
  private current = new Map<string, ParsedDocument>();
  private previous = new Map<string, ParsedDocument>();

  get(text: string): ParsedDocument | undefined {
    const hit = this.current.get(text) ?? this.previous.get(text);
    if (hit) this.current.set(text, hit);
    return hit;
  }

  set(text: string, parsed: ParsedDocument): void {
    this.current.set(text, parsed);
  }

  sweep(): void {
    this.previous = this.current;
    this.current = new Map();
  }
}

interface ParsedDocument {
  doc: Document;
  lines: LineCounter;
  value: { kind: Kind; name: string; spec: Record<string, unknown> };
}

/**
 * Parses and schema-checks every document; problems go to `issues`, valid documents are returned.
 * With a `cache`, documents whose text it holds are not parsed again.
 */
export function readDocuments(
  sources: MeshSource[],
  issues: MeshIssue[],
  cache?: DocumentCache,
): MeshDocument[] {
  const out: MeshDocument[] = [];
  for (const { file, text } of sources) {
    const chunks = cache ? splitDocuments(text) : undefined;
    if (chunks && readCached(file, chunks, cache!, out)) continue;
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true });
    if (!Array.isArray(docs)) continue; // empty stream: no documents
    docs.forEach((doc, i) => {
      const d = readDocument(file, i + 1, doc, (path) => lineOf(doc, lines, path), issues);
      if (d) out.push(d);
    });
  }
  return out;
}

/**
 * One file through the cache, document by document; false (nothing added) when any document is new
 * and not clean, or the file's layout is one the splitter does not claim to mirror — the caller then
 * parses the whole file as before, so problems are reported exactly as without a cache.
 */
function readCached(file: string, chunks: Chunk[], cache: DocumentCache, out: MeshDocument[]): boolean {
  const docs: MeshDocument[] = [];
  for (const [i, c] of chunks.entries()) {
    let parsed = cache.get(c.text);
    if (!parsed) {
      const lines = new LineCounter();
      const all = parseAllDocuments(c.text, { lineCounter: lines, uniqueKeys: true });
      if (!Array.isArray(all) || all.length !== 1) return false;
      const doc = all[0]!;
      const issues: MeshIssue[] = [];
      const d = readDocument(file, i + 1, doc, (path) => lineOf(doc, lines, path), issues);
      if (!d || issues.length) return false;
      parsed = { doc, lines, value: { kind: d.kind, name: d.name, spec: d.spec } };
      cache.set(c.text, parsed);
    }
    const { doc, lines, value } = parsed;
    const at = (path: (string | number)[]) => {
      const line = lineOf(doc, lines, path);
      return line === undefined ? undefined : line + c.line;
    };
    const problem = problemAt(file, i + 1, at);
    docs.push({
      file,
      index: i + 1,
      ...value,
      issue: (path, message) => problem(path, message, value.kind, value.name),
    });
  }
  out.push(...docs);
  return true;
}

interface Chunk {
  text: string;
  /** Lines before the chunk in its file. */
  line: number;
}

/**
 * A YAML stream cut at its `---` markers, one chunk per document, as the parser counts them: a marker
 * at column 0 always starts a document (YAML 1.2 forbids one inside a scalar), and what precedes the
 * first marker is a document of its own unless it is only comments and blank lines. Streams with
 * directives (`%`) or end markers (`...`) are left to the whole-file parse (undefined).
 */
function splitDocuments(text: string): Chunk[] | undefined {
  if (/^(%|\.\.\.(\s|$))/m.test(text)) return undefined;
  const starts: number[] = [];
  const marker = /^---(?=[ \t\r\n]|$)/gm;
  for (let m = marker.exec(text); m; m = marker.exec(text)) starts.push(m.index);
  const head = text.slice(0, starts[0] ?? text.length);
  if (starts.length && head.split('\n').every((l) => /^\s*(#.*)?$/.test(l))) starts[0] = 0;
  else if (starts[0] !== 0) starts.unshift(0);
  const chunks: Chunk[] = [];
  let line = 0;
  let counted = 0;
  for (const [i, start] of starts.entries()) {
    for (; counted < start; counted++) if (text.charCodeAt(counted) === 10) line++;
    chunks.push({ text: text.slice(start, starts[i + 1] ?? text.length), line });
  }
  return chunks;
}

function problemAt(
  file: string,
  index: number,
  at: (path: (string | number)[]) => number | undefined,
): Problem {
  return (path, message, kind, name) => ({
    file,
    document: index,
    kind,
    name,
    field: fieldPath(path),
    line: at(path),
    message,
  });
}

/** One YAML document → a checked MeshDocument, or undefined with its problems in `issues`. */
function readDocument(
  file: string,
  index: number,
  doc: Document,
  at: (path: (string | number)[]) => number | undefined,
  issues: MeshIssue[],
): MeshDocument | undefined {
  for (const e of [...doc.errors, ...doc.warnings]) {
    issues.push({
      file,
      document: index,
      line: e.linePos?.[0]?.line,
      message: `YAML: ${e.message.split('\n')[0]}`,
    });
  }
  if (doc.errors.length || doc.contents === null) return undefined;
  return checkDocument(doc.toJS({ maxAliasCount: 100 }), file, index, problemAt(file, index, at), issues);
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
