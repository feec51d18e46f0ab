// Mesh switch `emitter.annotateRoutes`: a service's EventRoutes become Envoy routes of its inbound
// route configuration, each carrying its event rule as route metadata
// (filter_metadata["sidecast.io/event"], docs/event-emitter.md "Annotating routes"), instead of
// rules in the emitter's plugin configuration. Envoy picks one route per request, so only
// EventRoutes whose requests cannot overlap become routes; an EventRoute that may overlap an
// earlier one, or that names an Envoy route (match.routeName), stays a plugin-config rule.
import type { EmitterRule, EventRouteSpec } from './types.js';

type Json = Record<string, unknown>;
export const ANNOTATION_KEY = 'sidecast.io/event';

export interface RouteSplit {
  /** Envoy routes (without their action) carrying the annotation, in EventRoute order. */
  routes: Json[];
  /** EventRoutes that stay rules in the plugin configuration. */
  rules: EventRouteSpec[];
}

type Segment = { kind: 'literal'; text: string } | { kind: 'param' } | { kind: 'rest' };

function segments(template: string): Segment[] {
  if (template === '/') return [];
  return template
    .slice(1)
    .split('/')
    .map((s): Segment => {
      const p = /^\{[A-Za-z0-9_]+(\.\.\.)?\}$/.exec(s);
      return p ? { kind: p[1] ? 'rest' : 'param' } : { kind: 'literal', text: s };
    });
}

/** Whether some path matches both templates (with the emitter's semantics, path-template.ts). */
export function pathsMayOverlap(a: string, b: string): boolean {
  const x = segments(a);
  const y = segments(b);
  for (let k = 0; ; k++) {
    const s = x[k];
    const t = y[k];
    // {rest...} takes one or more segments: it overlaps whatever still has a segment here.
    if (s?.kind === 'rest') return t !== undefined;
    if (t?.kind === 'rest') return s !== undefined;
    if (s === undefined || t === undefined) return s === t;
    if (s.kind === 'literal' && t.kind === 'literal' && s.text !== t.text) return false;
  }
}

const methodsOf = (m: Json): string[] | undefined =>
  m.method === undefined ? undefined : ([] as string[]).concat(m.method as string | string[]);

function mayOverlap(a: EmitterRule, b: EmitterRule): boolean {
  const ma = methodsOf(a.match);
  const mb = methodsOf(b.match);
  if (ma && mb && !ma.some((m) => mb.includes(m))) return false;
  return pathsMayOverlap(a.match.path as string, b.match.path as string);
}

const escapeRe2 = (s: string): string => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/** The emitter's path template as an RE2 full match on the path (Envoy strips the query first). */
export function pathRegex(template: string): string {
  const parts = segments(template).map((s) =>
    s.kind === 'literal' ? escapeRe2(s.text) : s.kind === 'param' ? '[^/]+' : '.+',
  );
  return parts.length ? parts.map((p) => `/${p}`).join('') : '/';
}

/** The Envoy route match equivalent to an EventRoute's request-side match (method, path, host, headers). */
export function routeMatch(match: Json): Json {
  const headers: Json[] = [];
  const methods = methodsOf(match);
  if (methods)
    headers.push({
      name: ':method',
      string_match:
        methods.length === 1 ? { exact: methods[0] } : { safe_regex: { regex: methods.join('|') } },
    });
  if (match.host !== undefined)
    // The emitter compares the host without its port, ignoring case.
    headers.push({
      name: ':authority',
      string_match: { safe_regex: { regex: `(?i)${escapeRe2(match.host as string)}(:[0-9]+)?` } },
    });
  for (const h of (match.headers ?? []) as Json[])
    headers.push(
      h.exact !== undefined
        ? { name: h.name, string_match: { exact: h.exact } }
        : h.present
          ? { name: h.name, present_match: true }
          : { name: h.name, present_match: true, invert_match: true },
    );
  return {
    safe_regex: { regex: pathRegex(match.path as string) },
    ...(headers.length ? { headers } : {}),
  };
}

/** The rule as a route annotation: an EventRoute's `event` (mesh field names) plus status and path. */
export function annotationOf(rule: EmitterRule): Json {
  const e = rule.event;
  const out: Json = {
    name: rule.name,
    path: rule.match.path,
    status: rule.match.status,
    type: e.type,
    topic: e.topic,
    subject: e.subject,
    partitionKey: e.partitionkey,
    data: e.data,
    maxBodyBytes: e.max_body_bytes,
    sampling: e.sampling,
    delivery: e.delivery,
    deadline: e.deadline_ms === undefined ? undefined : `${e.deadline_ms as number}ms`,
    onFailure: e.on_failure,
    // The data contract's id (CloudEvents dataschema), stamped by the emitter as with plugin rules.
    dataschema: e.dataschema,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/** Splits a service's EventRoutes into annotated Envoy routes and the rules that stay in the plugin config. */
export function splitEventRoutes(routes: EventRouteSpec[]): RouteSplit {
  const annotated: EventRouteSpec[] = [];
  const rules: EventRouteSpec[] = [];
  for (const r of routes) {
    const m = r.rule.match;
    const expressible = m.path !== undefined && m.route_name === undefined;
    if (expressible && !annotated.some((a) => mayOverlap(a.rule, r.rule))) annotated.push(r);
    else rules.push(r);
  }
  // A plugin rule of the same event type overrides an annotation where both match
  // (docs/event-emitter.md, precedence): such pairs stay rules, so both still emit.
  for (let i = annotated.length - 1; i >= 0; i--) {
    const a = annotated[i]!;
    if (
      rules.some(
        (r) =>
          r.rule.event.type === a.rule.event.type &&
          (r.rule.match.path === undefined || mayOverlap(a.rule, r.rule)),
      )
    ) {
      annotated.splice(i, 1);
      rules.push(a);
    }
  }
  rules.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return {
    routes: annotated.map((r) => ({
      name: r.rule.name,
      match: routeMatch(r.rule.match),
      metadata: { filter_metadata: { [ANNOTATION_KEY]: annotationOf(r.rule) } },
    })),
    rules,
  };
}
