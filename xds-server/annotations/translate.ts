// Annotated route rules → EventRoute documents (the same documents a mesh file or an EventRoute
// custom resource holds, checked by the same schema), and the problems found on the way, each
// naming the annotated object, the annotation and the field. Pure: no Kubernetes client here.
import { createHash } from 'node:crypto';
import { checkDocument, fieldPath, type MeshDocument } from '../mesh/documents.js';
import type { MeshIssue } from '../mesh/types.js';
import { ruleAnnotations, type RouteKind } from './convention.js';

/** What a request must show for a route rule, in EventRoute terms. */
export interface RequestMatch {
  /** An emitter path template (docs/mesh-config.md). */
  path: string;
  method?: string;
  host?: string;
  headers?: { name: string; exact: string }[];
}

/** A rule of a route object, as the kind-specific readers (httproute.ts, virtualservice.ts) see it. */
export interface RouteRule {
  index: number;
  name?: string;
  /** Alternatives (any one matches); empty when `problem` says why the rule cannot be matched. */
  matches: RequestMatch[];
  /** Mesh Service names of the backends (each one's sidecar sees the requests). */
  services: string[];
  /** Why the rule cannot become an EventRoute (a regex match, no backend, …). */
  problem?: string;
}

export interface ObjectRef {
  apiVersion: string;
  kind: RouteKind;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface AnnotationProblem {
  object: ObjectRef;
  annotation: string;
  /** The field inside the annotation's value, when the problem is about one. */
  field?: string;
  message: string;
}

/** An EventRoute as a mesh document / custom resource (docs/mesh-config.md). */
export interface EventRouteDocument {
  apiVersion: 'sidecast.io/v1';
  kind: 'EventRoute';
  metadata: { name: string; namespace?: string; annotations: Record<string, string> };
  spec: { service: string; match: Record<string, unknown>; event: Record<string, unknown> };
}

export interface AnnotationResult {
  /** EventRoute documents, ready for the mesh sources. */
  eventRoutes: EventRouteDocument[];
  problems: AnnotationProblem[];
}

/** A rule from its backends and raw matches, read by `matchesOf` (a string = why it cannot be matched). */
export function ruleOf<M>(
  index: number,
  name: string | undefined,
  services: string[],
  rawMatches: M[] | undefined,
  matchesOf: (m: M | Record<string, never>) => RequestMatch[] | string,
  noBackend: string,
): RouteRule {
  const rule: RouteRule = { index, name, matches: [], services: [...new Set(services)] };
  if (!rule.services.length) return { ...rule, problem: noBackend };
  // No matches = everything (Gateway API and Istio alike).
  for (const m of rawMatches?.length ? rawMatches : [{}]) {
    const got = matchesOf(m);
    if (typeof got === 'string') return { ...rule, matches: [], problem: got };
    rule.matches.push(...got);
  }
  return rule;
}

/** The reference an annotated object's problems and Events point at. */
export function refOf(
  obj: { apiVersion?: string; metadata: { name: string; namespace?: string; uid?: string } },
  kind: RouteKind,
  apiVersion: string,
): ObjectRef {
  const { name, namespace, uid } = obj.metadata;
  return { apiVersion: obj.apiVersion ?? apiVersion, kind, name, namespace, uid };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS label from parts; too long ⇒ cut and suffixed with a short hash so names stay unique. */
export function labelOf(...parts: string[]): string {
  const raw = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (raw.length <= 63 && DNS_LABEL.test(raw)) return raw;
  const hash = createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 8);
  return `${raw.slice(0, 54).replace(/-$/, '')}-${hash}`;
}

/** "spec.event.topic" / "spec.match.status" → the field inside the annotation value. */
function annotationField(issue: MeshIssue): string | undefined {
  const f = issue.field ?? '';
  const m = /^spec\.(?:event|match)(?:\.(.*))?$/.exec(f) ?? /^spec\.(?:event|match)(\[.*)$/.exec(f);
  return m ? m[1] : f || undefined;
}

export function translateRules(
  object: ObjectRef,
  annotations: Record<string, string> | undefined,
  rules: RouteRule[],
): AnnotationResult {
  const eventRoutes: EventRouteDocument[] = [];
  const problems: AnnotationProblem[] = [];
  const where = `${object.kind} ${object.namespace ? `${object.namespace}/` : ''}${object.name}`;
  const names = rules.map((r) => r.name ?? String(r.index));
  for (const a of ruleAnnotations(annotations)) {
    const problem = (message: string, field?: string) =>
      problems.push({ object, annotation: a.key, field, message });
    if (a.error) {
      problem(a.error);
      continue;
    }
    const rule =
      rules.find((r) => r.name === a.rule) ?? (/^\d+$/.test(a.rule) ? rules[Number(a.rule)] : undefined);
    if (!rule) {
      problem(
        `names no rule of ${where} (its rules: ${names.join(', ') || 'none'}); use a rule's name or index`,
      );
      continue;
    }
    if (rule.problem) {
      problem(`rule ${rule.name ?? rule.index}: ${rule.problem}`);
      continue;
    }
    const { status, ...event } = a.value as Record<string, unknown>;
    const many = rule.matches.length * rule.services.length > 1;
    let n = 0;
    const before = problems.length;
    const docs: EventRouteDocument[] = [];
    for (const service of rule.services)
      for (const m of rule.matches) {
        const name = labelOf(object.name, rule.name ?? `rule${rule.index}`, ...(many ? [String(n++)] : []));
        const doc: EventRouteDocument = {
          apiVersion: 'sidecast.io/v1',
          kind: 'EventRoute',
          metadata: {
            name,
            ...(object.namespace ? { namespace: object.namespace } : {}),
            annotations: {
              'events.sidecast.io/from': `${object.kind}/${object.namespace ?? ''}/${object.name}#${rule.name ?? rule.index}`,
            },
          },
          spec: {
            service,
            match: { ...m, ...(status !== undefined ? { status } : {}) },
            event,
          },
        };
        const issues: MeshIssue[] = [];
        const checked: MeshDocument | undefined = checkDocument(
          doc,
          `${where} annotation ${a.key}`,
          1,
          (path, message) => ({ file: where, field: fieldPath(path), message }),
          issues,
        );
        // One report per annotation field, not one per generated EventRoute.
        for (const i of issues)
          if (!problems.slice(before).some((p) => p.field === annotationField(i) && p.message === i.message))
            problem(i.message, annotationField(i));
        if (checked) docs.push(doc);
      }
    // An annotation is taken whole or not at all.
    if (problems.length === before) eventRoutes.push(...docs);
  }
  return { eventRoutes, problems };
}

/**
 * The problems as Kubernetes Events (events.k8s.io/v1) on the annotated objects: the route objects
 * belong to their gateway controller or to Istio, whose status fields sidecast must not write, so
 * Events are where `kubectl describe` shows what is wrong. One Event per object and annotation.
 */
export function problemEvents(
  problems: AnnotationProblem[],
  now: Date,
  controller = 'sidecast.io/xds-server',
): Record<string, unknown>[] {
  const byKey = new Map<string, AnnotationProblem[]>();
  for (const p of problems) {
    const key = `${p.object.kind}/${p.object.namespace ?? ''}/${p.object.name}/${p.annotation}`;
    byKey.set(key, [...(byKey.get(key) ?? []), p]);
  }
  return [...byKey.values()].map((ps) => {
    const { object, annotation } = ps[0]!;
    const note = `${annotation}: ${ps.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; ')}`;
    return {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: {
        name: labelOf(
          object.name,
          'sidecast',
          createHash('sha256')
            .update(`${object.uid ?? ''}${annotation}${note}`)
            .digest('hex')
            .slice(0, 10),
        ),
        ...(object.namespace ? { namespace: object.namespace } : {}),
      },
      eventTime: now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
      reportingController: controller,
      reportingInstance: controller,
      action: 'TranslateAnnotation',
      reason: 'InvalidEventAnnotation',
      type: 'Warning',
      regarding: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.name,
        ...(object.namespace ? { namespace: object.namespace } : {}),
        ...(object.uid ? { uid: object.uid } : {}),
      },
      // The API caps a note at 1 KiB.
      note: note.length > 1024 ? `${note.slice(0, 1021)}...` : note,
    };
  });
}
