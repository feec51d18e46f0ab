// Gateway API HTTPRoute (gateway.networking.k8s.io/v1) rules as the annotation translation sees
// them: each match (path, method, headers) becomes an emitter match, each Service backendRef a
// service whose sidecar emits. What the emitter cannot match the same way — RegularExpression
// paths or headers, query parameters — makes the rule unannotatable (reported), never approximated.
import {
  refOf,
  ruleOf,
  translateRules,
  type AnnotationResult,
  type RequestMatch,
  type RouteRule,
} from './translate.js';

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
  return ((route.spec?.rules ?? []) as Json[]).map((r, index) =>
    ruleOf(
      index,
      r.name,
      ((r.backendRefs ?? []) as Json[])
        .filter((b) => (b.kind ?? 'Service') === 'Service' && (b.group ?? '') === '')
        .map((b) => String(b.name)),
      r.matches as Json[] | undefined,
      matchesOf,
      'has no Service backendRef, so no sidecar would emit',
    ),
  );
}

/** An HTTPRoute's `events.sidecast.io/<rule>` annotations → EventRoutes for its backend Services. */
export function httpRouteEventRoutes(route: Json): AnnotationResult {
  const ref = refOf(route as never, 'HTTPRoute', 'gateway.networking.k8s.io/v1');
  return translateRules(ref, route.metadata.annotations, httpRouteRules(route));
}
