// Builders for the Envoy resources sidecast serves, in proto3 JSON (the checker encodes them).
// Kept free of mesh logic: each takes plain names/addresses so translate.ts reads as the plan.
import { isIP } from 'node:net';
import { TYPE } from '../../proto/envoy.js';
import type { HostPort } from './types.js';

type Json = Record<string, unknown>;

export const ROUTER_FILTER = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};
const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
/** Everything comes over the one ADS stream (grpc-js-xds accepts only `ads` or `self`). */
export const ADS = { ads: {}, resource_api_version: 'V3' };

export interface ClusterPair {
  cluster: Json;
  /** Present for EDS clusters (literal IP endpoints); DNS names make a STRICT_DNS cluster instead. */
  loadAssignment?: Json;
}

export function loadAssignment(name: string, endpoints: HostPort[]): Json {
  return {
    cluster_name: name,
    endpoints: [
      {
        // grpc-js-xds rejects a locality-less entry and ignores weight-0 localities.
        locality: { zone: 'sidecast' },
        load_balancing_weight: 1,
        lb_endpoints: endpoints.map((e) => ({
          endpoint: { address: { socket_address: { address: e.host, port_value: e.port } } },
        })),
      },
    ],
  };
}

export function cluster(name: string, endpoints: HostPort[], http2 = false): ClusterPair {
  const base: Json = { name, connect_timeout: '1s', lb_policy: 'ROUND_ROBIN' };
  if (http2)
    base.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  if (endpoints.every((e) => isIP(e.host) !== 0))
    return {
      cluster: { ...base, type: 'EDS', eds_cluster_config: { eds_config: ADS } },
      loadAssignment: loadAssignment(name, endpoints),
    };
  return { cluster: { ...base, type: 'STRICT_DNS', load_assignment: loadAssignment(name, endpoints) } };
}

/** HttpConnectionManager with its routes over RDS. */
export function httpConnectionManager(statPrefix: string, routeConfig: string, httpFilters: Json[]): Json {
  return {
    '@type': HCM_TYPE,
    stat_prefix: statPrefix,
    rds: { config_source: ADS, route_config_name: routeConfig },
    http_filters: [...httpFilters, ROUTER_FILTER],
  };
}

export function listener(
  name: string,
  address: string,
  port: number,
  direction: 'INBOUND' | 'OUTBOUND',
  hcm: Json,
): Json {
  return {
    name,
    address: { socket_address: { address, port_value: port } },
    traffic_direction: direction,
    filter_chains: [
      { filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] },
    ],
  };
}

/** A listener for proxyless gRPC (grpc-js-xds): named like the xds:/// target, HCM as api_listener. */
export function apiListener(name: string, hcm: Json): Json {
  return { name, api_listener: { api_listener: hcm } };
}

export interface VirtualHostSpec {
  name: string;
  domains: string[];
  routeName: string;
  cluster: string;
  /** Routes to the same cluster tried before the catch-all (e.g. annotated EventRoutes), without their action. */
  routes?: Json[];
}

export function routeConfiguration(name: string, hosts: VirtualHostSpec[]): Json {
  return {
    name,
    virtual_hosts: hosts.map((h) => ({
      name: h.name,
      domains: h.domains,
      routes: [
        ...(h.routes ?? []).map((r) => ({ ...r, route: { cluster: h.cluster } })),
        { name: h.routeName, match: { prefix: '/' }, route: { cluster: h.cluster } },
      ],
    })),
  };
}

export interface WasmFilterSpec {
  name: string;
  rootId: string;
  vmId: string;
  wasmFile: string;
  /** Plugin configuration JSON, delivered as google.protobuf.StringValue (what Envoy hands the filter verbatim). */
  configuration: unknown;
}

/** envoy.extensions.filters.http.wasm.v3.Wasm, fail-open: a broken filter VM bypasses, never blocks. */
export function wasmFilter(w: WasmFilterSpec): Json {
  return {
    '@type': TYPE.wasm,
    config: {
      name: w.name,
      root_id: w.rootId,
      vm_config: {
        vm_id: w.vmId,
        runtime: 'envoy.wasm.runtime.v8',
        code: { local: { filename: w.wasmFile } },
      },
      configuration: {
        '@type': 'type.googleapis.com/google.protobuf.StringValue',
        value: JSON.stringify(w.configuration),
      },
      fail_open: true,
    },
  };
}

/** An HTTP filter whose config comes from ECDS (resource name = filter name), with a fallback. */
export function ecdsFilter(name: string, defaultConfig: Json): Json {
  return {
    name,
    config_discovery: {
      config_source: { ...ADS, initial_fetch_timeout: '10s' },
      default_config: defaultConfig,
      type_urls: [TYPE.wasm],
    },
  };
}
