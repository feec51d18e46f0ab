// Istio VirtualService (networking.istio.io/v1) http routes as the annotation translation sees
// them: each match (uri, method, headers, authority) becomes an emitter match, each destination
// host a service whose sidecar emits. Istio's uri prefix is a string prefix; it is taken at path
// segments (prefix "/accounts" ⇒ /accounts and /accounts/…, not /accountsX). Regex matches,
// query parameters, withoutHeaders and ignoreUriCase make the route unannotatable (reported).
import {
  refOf,
  ruleOf,
  translateRules,
  type AnnotationResult,
  type RequestMatch,
  type RouteRule,
} from './translate.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function exactOnly(what: string, m: Json | undefined): string | undefined | { error: string } {
  if (m === undefined) return undefined;
  if (typeof m.exact === 'string') return m.exact;
  return {
    error: `${what}: only exact matches can be matched by the emitter (got ${Object.keys(m).join(', ')})`,
  };
}

function uriTemplates(uri: Json | undefined): string[] | string {
  if (uri === undefined) return ['/', '/{rest...}'];
  const value: string | undefined = uri.exact ?? uri.prefix;
  if (value === undefined)
    return `uri ${Object.keys(uri).join(', ')} cannot be matched by the emitter; use exact or prefix`;
  if (/[{}]/.test(value))
    return `uri "${value}" contains "{" or "}", which an emitter path template cannot match literally`;
  if (uri.exact !== undefined) return [value];
  if (value.endsWith('/')) return value === '/' ? ['/', '/{rest...}'] : [`${value}{rest...}`];
  return [value, `${value}/{rest...}`];
}

function matchesOf(m: Json): RequestMatch[] | string {
  for (const unsupported of ['queryParams', 'withoutHeaders', 'ignoreUriCase'] as const)
    if (m[unsupported] !== undefined && m[unsupported] !== false)
      return `${unsupported} cannot be matched by the emitter`;
  const paths = uriTemplates(m.uri);
  if (typeof paths === 'string') return paths;
  const method = exactOnly('method', m.method);
  if (typeof method === 'object') return method.error;
  const host = exactOnly('authority', m.authority);
  if (typeof host === 'object') return host.error;
  const headers: { name: string; exact: string }[] = [];
  for (const [name, hm] of Object.entries((m.headers ?? {}) as Record<string, Json>)) {
    const v = exactOnly(`header ${name}`, hm);
    if (typeof v === 'object') return v.error;
    if (v !== undefined) headers.push({ name: name.toLowerCase(), exact: v });
  }
  return paths.map((path) => ({
    path,
    ...(method ? { method } : {}),
    ...(host ? { host } : {}),
    ...(headers.length ? { headers } : {}),
  }));
}

/** "accounts", "accounts.bank", "accounts.bank.svc.cluster.local" → "accounts". */
const serviceOf = (host: string): string => host.split('.')[0]!;

export function virtualServiceRules(vs: Json): RouteRule[] {
  return ((vs.spec?.http ?? []) as Json[]).map((h, index) =>
    ruleOf(
      index,
      h.name,
      ((h.route ?? []) as Json[]).map((d) => serviceOf(String(d.destination?.host ?? ''))).filter(Boolean),
      h.match as Json[] | undefined,
      matchesOf,
      'routes to no destination (redirect or direct response), so no sidecar would emit',
    ),
  );
}

/** A VirtualService's `events.sidecast.io/<route>` annotations → EventRoutes for its destinations. */
export function virtualServiceEventRoutes(vs: Json): AnnotationResult {
  const ref = refOf(vs as never, 'VirtualService', 'networking.istio.io/v1');
  return translateRules(ref, vs.metadata.annotations, virtualServiceRules(vs));
}
