// The listener's route table (an envoy.config.route.v3.RouteConfiguration), so `xds.route_name`
// and `xds.route_metadata` come from the route a request selects, as in Envoy: the HTTP connection
// manager picks the route before the first filter sees the request headers, a stream keeps its
// route, and a new table (RDS update) applies to streams that start after it.
//
// Envoy serves `xds.route_metadata` as the route's envoy.config.core.v3.Metadata message, which
// getProperty serializes as protobuf bytes (extensions/filters/common/expr/context.cc: RouteMetadata
// → CelProtoWrapper::CreateMessage(&route()->metadata()); wasm context.cc serializeValue). A route
// without metadata gives an empty message (0 bytes, found); no route at all gives NotFound.
// Sub-paths into the message (xds.route_metadata.filter_metadata…) are not modelled: NotFound.
//
// The table is checked against Envoy's protos (unknown or mistyped fields fail, as Envoy NACKs
// them). Route selection models what matters for route names and metadata: virtual host by
// :authority (exact, `*`, `*.suffix`, `prefix*`; port ignored unless given), then the first route
// whose match holds — prefix / path / safe_regex / path_separated_prefix (case_sensitive), headers
// (exact, prefix, present, string_match.exact|prefix|suffix|contains, invert_match). Not modelled:
// runtime fractions, query parameters, grpc/tls matchers, dynamic metadata, redirects.
import { envoyChecker } from '../../proto/envoy.js';
import type { HeaderMap } from './pairs.js';

type Json = Record<string, unknown>;

const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';
const METADATA = 'envoy.config.core.v3.Metadata';

/** A route the table selected: what the xds.* route properties serve. */
export interface SelectedRoute {
  readonly name: string;
  readonly virtualHost: string;
  /** The route's metadata as Envoy serializes it (envoy.config.core.v3.Metadata). */
  readonly metadata: Buffer;
}

interface CompiledRoute extends SelectedRoute {
  readonly match: Json;
  readonly regex?: RegExp;
}

interface CompiledHost {
  readonly name: string;
  readonly domains: string[];
  readonly routes: CompiledRoute[];
}

/** A route's metadata (proto3 JSON, e.g. { filter_metadata: { 'sidecast.io/event': {…} } }) as Envoy serializes it. */
export function serializeMetadata(metadata: unknown, where = 'metadata'): Buffer {
  return Buffer.from(envoyChecker().encode(METADATA, metadata ?? {}, where));
}

function domainMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*')) return host.endsWith(pattern.slice(1));
  if (pattern.endsWith('*')) return host.startsWith(pattern.slice(0, -1));
  return pattern === host;
}

function stringMatch(m: Json, v: string): boolean {
  const ci = m.ignore_case === true;
  const a = ci ? v.toLowerCase() : v;
  const t = (x: unknown) => (ci ? String(x).toLowerCase() : String(x));
  if (m.exact !== undefined) return a === t(m.exact);
  if (m.prefix !== undefined) return a.startsWith(t(m.prefix));
  if (m.suffix !== undefined) return a.endsWith(t(m.suffix));
  if (m.contains !== undefined) return a.includes(t(m.contains));
  if (m.safe_regex !== undefined)
    return new RegExp(`^(?:${(m.safe_regex as Json).regex as string})$`).test(v);
  return false;
}

function headerMatches(h: Json, headers: HeaderMap): boolean {
  const value = headers.get(String(h.name))?.toString('utf8');
  let ok: boolean;
  if (h.present_match !== undefined) ok = (value !== undefined) === h.present_match;
  else if (value === undefined) ok = false;
  else if (h.exact_match !== undefined) ok = value === h.exact_match;
  else if (h.prefix_match !== undefined) ok = value.startsWith(String(h.prefix_match));
  else if (h.suffix_match !== undefined) ok = value.endsWith(String(h.suffix_match));
  else if (h.string_match !== undefined) ok = stringMatch(h.string_match as Json, value);
  else ok = true; // no matcher: presence
  return h.invert_match === true ? !ok : ok;
}

export class RouteTable {
  private readonly hosts: CompiledHost[];

  /** `config`: proto3 JSON of a RouteConfiguration (what `route_config:` holds in Envoy YAML). */
  constructor(config: unknown) {
    envoyChecker().check(ROUTE_CONFIGURATION, config, 'route table');
    const vhosts = ((config as Json).virtual_hosts ?? []) as Json[];
    this.hosts = vhosts.map((vh, v) => ({
      name: String(vh.name),
      domains: (vh.domains as string[]).map((d) => d.toLowerCase()),
      routes: ((vh.routes ?? []) as Json[]).map((r, i) => {
        const match = (r.match ?? {}) as Json;
        const regex = match.safe_regex
          ? new RegExp(`^(?:${(match.safe_regex as Json).regex as string})$`)
          : undefined;
        return {
          name: String(r.name ?? ''),
          virtualHost: String(vh.name),
          metadata: serializeMetadata(r.metadata, `virtual_hosts[${v}].routes[${i}].metadata`),
          match,
          regex,
        };
      }),
    }));
  }

  /** The route Envoy would pick for these request headers, or undefined (Envoy: 404 NR). */
  select(headers: HeaderMap): SelectedRoute | undefined {
    const authority = (headers.get(':authority')?.toString('utf8') ?? '').toLowerCase();
    const bare = authority.replace(/:\d+$/, '');
    const host =
      this.hosts.find((h) =>
        h.domains.some((d) => d !== '*' && (d === authority || (!d.includes(':') && domainMatches(d, bare)))),
      ) ?? this.hosts.find((h) => h.domains.includes('*'));
    if (!host) return undefined;
    const fullPath = headers.get(':path')?.toString('utf8') ?? '';
    const path = fullPath.split('?')[0]!.split('#')[0]!;
    return host.routes.find((r) => this.routeMatches(r, path, headers));
  }

  private routeMatches(r: CompiledRoute, path: string, headers: HeaderMap): boolean {
    const m = r.match;
    const cs = m.case_sensitive !== false;
    const p = cs ? path : path.toLowerCase();
    const t = (x: unknown) => (cs ? String(x) : String(x).toLowerCase());
    let ok: boolean;
    if (m.prefix !== undefined) ok = p.startsWith(t(m.prefix));
    else if (m.path !== undefined) ok = p === t(m.path);
    else if (m.path_separated_prefix !== undefined) {
      const pre = t(m.path_separated_prefix);
      ok = p === pre || p.startsWith(pre + '/');
    } else if (r.regex) ok = r.regex.test(path);
    else ok = false; // connect_matcher, path_match_policy: not modelled
    return ok && ((m.headers ?? []) as Json[]).every((h) => headerMatches(h, headers));
  }
}
