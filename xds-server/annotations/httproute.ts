// Gateway API HTTPRoute (gateway.networking.k8s.io/v1) rules as the annotation translation sees
// them: each match (path, method, headers) becomes an emitter match, each Service backendRef a
// service whose sidecar emits. What the emitter cannot match the same way — RegularExpression
// paths or headers, query parameters — makes the rule unannotatable (reported), never approximated.
import type { ObjectRef, RequestMatch, RouteRule } from './translate.js';
import { translateRules, type AnnotationResult } from './translate.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Gateway API paths → emitter path templates. PathPrefix is element-wise: "/a" matches /a and /a/…. */
function pathTemplates(path: Json | undefined): string[] | string {
  const type = path?.type ?? 'PathPrefix';
  const value: string = path?.value ?? '/';
  if (/[{}]/.test(value))
    return `path "${value}" contains "{" or "}", which an emitter path template cannot match literally`;
  if (type === 'Exact') return [value];
  if (type === 'PathPrefix') {
    const base = value.replace(/\/+$/, '');
    return base === '' ? ['/', '/{rest...}'] : [base, `${base}/{rest...}`];
  }
  return `path type ${type} cannot be matched by the emitter; use Exact or PathPrefix`;
}

function matchesOf(match: Json): RequestMatch[] | string {
  const paths = pathTemplates(match.path);
  if (typeof paths === 'string') return paths;
  if (match.queryParams?.length) return 'queryParams matches cannot be matched by the emitter';
  const headers: { name: string; exact: string }[] = [];
  for (const h of match.headers ?? []) {
    if ((h.type ?? 'Exact') !== 'Exact')
      return `header ${h.name}: match type ${h.type} cannot be matched by the emitter; use Exact`;
    headers.push({ name: String(h.name).toLowerCase(), exact: h.value });
  }
  return paths.map((path) => ({
    path,
    ...(match.method ? { method: match.method } : {}),
    ...(headers.length ? { headers } : {}),
  }));
}

export function httpRouteRules(route: Json): RouteRule[] {
  return ((route.spec?.rules ?? []) as Json[]).map((r, index): RouteRule => {
    const services = ((r.backendRefs ?? []) as Json[])
      .filter((b) => (b.kind ?? 'Service') === 'Service' && (b.group ?? '') === '')
      .map((b) => String(b.name));
    const rule: RouteRule = { index, name: r.name, matches: [], services: [...new Set(services)] };
    if (!rule.services.length)
      return { ...rule, problem: 'has no Service backendRef, so no sidecar would emit' };
    for (const m of (r.matches?.length ? r.matches : [{}]) as Json[]) {
      const got = matchesOf(m);
      if (typeof got === 'string') return { ...rule, matches: [], problem: got };
      rule.matches.push(...got);
    }
    return rule;
  });
}

/** An HTTPRoute's `events.sidecast.io/<rule>` annotations → EventRoutes for its backend Services. */
export function httpRouteEventRoutes(route: Json): AnnotationResult {
  const ref: ObjectRef = {
    apiVersion: route.apiVersion ?? 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    name: route.metadata.name,
    namespace: route.metadata.namespace,
    uid: route.metadata.uid,
  };
  return translateRules(ref, route.metadata.annotations, httpRouteRules(route));
}
