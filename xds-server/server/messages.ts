// Decoding of discovery requests into small plain shapes the stream state machines use, plus
// the gRPC method definitions (ADS and the per-type services) with identity response serializers
// (responses are pre-encoded by wire.ts).
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { envoyRoot } from '../../proto/envoy.js';

/** The proxy identity latched from the first request of a stream (envoy.config.core.v3.Node). */
export interface XdsNode {
  id: string;
  cluster: string;
  /** node.metadata as JSON (google.protobuf.Struct decoded). */
  metadata: Record<string, unknown>;
  userAgentName: string;
  userAgentVersion: string;
  clientFeatures: string[];
  locality: { region: string; zone: string; subZone: string };
}

export interface ErrorDetail {
  code: number;
  message: string;
}

export interface SotwRequest {
  node: XdsNode | undefined;
  /** Encoded size of `node` (metadata included): capped per stream. */
  nodeBytes: number;
  typeUrl: string;
  versionInfo: string;
  resourceNames: string[];
  responseNonce: string;
  errorDetail: ErrorDetail | undefined;
}

export interface DeltaRequest {
  node: XdsNode | undefined;
  nodeBytes: number;
  typeUrl: string;
  subscribe: string[];
  unsubscribe: string[];
  initialVersions: Map<string, string>;
  responseNonce: string;
  errorDetail: ErrorDetail | undefined;
}

type Msg = Record<string, unknown> & protobuf.Message;

let types: { sotw: protobuf.Type; delta: protobuf.Type } | undefined;
function requestTypes() {
  types ??= {
    sotw: envoyRoot().lookupType('envoy.service.discovery.v3.DiscoveryRequest'),
    delta: envoyRoot().lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
  };
  return types;
}

/** google.protobuf.Value (protobufjs bundles Struct with camelCase field names) → JSON. */
function valueToJson(v: Msg | undefined): unknown {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.structValue !== undefined) return structToJson(v.structValue as Msg);
  if (v.listValue !== undefined) return ((v.listValue as Msg).values as Msg[]).map(valueToJson);
  return null;
}

function structToJson(s: Msg | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((s?.fields as Record<string, Msg>) ?? {})) out[k] = valueToJson(v);
  return out;
}

function nodeOf(n: Msg | undefined): XdsNode | undefined {
  if (!n) return undefined;
  const loc = (n.locality ?? {}) as Msg;
  return {
    id: (n.id as string) ?? '',
    cluster: (n.cluster as string) ?? '',
    metadata: structToJson(n.metadata as Msg | undefined),
    userAgentName: (n.user_agent_name as string) ?? '',
    userAgentVersion: (n.user_agent_version as string) ?? '',
    clientFeatures: (n.client_features as string[]) ?? [],
    locality: {
      region: (loc.region as string) ?? '',
      zone: (loc.zone as string) ?? '',
      subZone: (loc.sub_zone as string) ?? '',
    },
  };
}

function errorOf(e: Msg | undefined): ErrorDetail | undefined {
  return e ? { code: (e.code as number) ?? 0, message: (e.message as string) ?? '' } : undefined;
}

/** Length of a length-delimited top-level field (the node) without decoding the message. */
function fieldBytes(bytes: Buffer, field: number): number {
  const r = protobuf.Reader.create(bytes);
  let total = 0;
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t >>> 3 === field && (t & 7) === 2) {
      const len = r.uint32();
      total += len;
      r.skip(len);
    } else r.skipType(t & 7);
  }
  return total;
}

export function decodeSotwRequest(bytes: Buffer): SotwRequest {
  const m = requestTypes().sotw.decode(bytes) as Msg;
  return {
    node: nodeOf(m.node as Msg | undefined),
    nodeBytes: m.node ? fieldBytes(bytes, 2) : 0,
    typeUrl: (m.type_url as string) ?? '',
    versionInfo: (m.version_info as string) ?? '',
    resourceNames: (m.resource_names as string[]) ?? [],
    responseNonce: (m.response_nonce as string) ?? '',
    errorDetail: errorOf(m.error_detail as Msg | undefined),
  };
}

export function decodeDeltaRequest(bytes: Buffer): DeltaRequest {
  const m = requestTypes().delta.decode(bytes) as Msg;
  return {
    node: nodeOf(m.node as Msg | undefined),
    nodeBytes: m.node ? fieldBytes(bytes, 1) : 0,
    typeUrl: (m.type_url as string) ?? '',
    subscribe: (m.resource_names_subscribe as string[]) ?? [],
    unsubscribe: (m.resource_names_unsubscribe as string[]) ?? [],
    initialVersions: new Map(Object.entries((m.initial_resource_versions as Record<string, string>) ?? {})),
    responseNonce: (m.response_nonce as string) ?? '',
    errorDetail: errorOf(m.error_detail as Msg | undefined),
  };
}

export type Protocol = 'sotw' | 'delta';

function method(path: string, protocol: Protocol): grpc.MethodDefinition<SotwRequest | DeltaRequest, Buffer> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error(`${path}: the server never serializes requests`);
    },
    requestDeserialize: protocol === 'sotw' ? decodeSotwRequest : decodeDeltaRequest,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  };
}

/** A discovery service: its SotW and delta methods, and the one type it serves (undefined = ADS, any type). */
export interface DiscoveryService {
  name: string;
  onlyType: string | undefined;
  definition: grpc.ServiceDefinition;
}

/** The unary REST/Fetch method of a per-type service (answered UNIMPLEMENTED). */
function fetchMethod(path: string): grpc.MethodDefinition<SotwRequest | DeltaRequest, Buffer> {
  return { ...method(path, 'sotw'), requestStream: false, responseStream: false };
}

function service(name: string, sotw: string, delta: string, onlyType: string | undefined): DiscoveryService {
  const fetch = onlyType ? sotw.replace(/^Stream/, 'Fetch') : undefined;
  return {
    name,
    onlyType,
    definition: {
      [sotw]: method(`/${name}/${sotw}`, 'sotw'),
      [delta]: method(`/${name}/${delta}`, 'delta'),
      ...(fetch ? { [fetch]: fetchMethod(`/${name}/${fetch}`) } : {}),
    } as grpc.ServiceDefinition,
  };
}

export const SOTW_METHODS = new Set([
  'StreamAggregatedResources',
  'StreamClusters',
  'StreamListeners',
  'StreamRoutes',
  'StreamEndpoints',
  'StreamExtensionConfigs',
]);

/** ADS plus the per-type services for clients that do not aggregate. */
export function discoveryServices(types: {
  cluster: string;
  listener: string;
  route: string;
  endpoint: string;
  extensionConfig: string;
}): DiscoveryService[] {
  return [
    service(
      'envoy.service.discovery.v3.AggregatedDiscoveryService',
      'StreamAggregatedResources',
      'DeltaAggregatedResources',
      undefined,
    ),
    service(
      'envoy.service.cluster.v3.ClusterDiscoveryService',
      'StreamClusters',
      'DeltaClusters',
      types.cluster,
    ),
    service(
      'envoy.service.listener.v3.ListenerDiscoveryService',
      'StreamListeners',
      'DeltaListeners',
      types.listener,
    ),
    service('envoy.service.route.v3.RouteDiscoveryService', 'StreamRoutes', 'DeltaRoutes', types.route),
    service(
      'envoy.service.endpoint.v3.EndpointDiscoveryService',
      'StreamEndpoints',
      'DeltaEndpoints',
      types.endpoint,
    ),
    service(
      'envoy.service.extension.v3.ExtensionConfigDiscoveryService',
      'StreamExtensionConfigs',
      'DeltaExtensionConfigs',
      types.extensionConfig,
    ),
  ];
}
