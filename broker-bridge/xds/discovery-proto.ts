// Envoy's ADS service definition, loaded from the proto files that ship with @grpc/grpc-js-xds
// (never copied into this repository).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);
const depsDir = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

export const ENVOY_PROTO_INCLUDE_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) =>
  join(depsDir, d),
);

/** Options shared with whoever decodes the same messages (tests use them for a wire-level server). */
export const DISCOVERY_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: ENVOY_PROTO_INCLUDE_DIRS,
};

let cached: grpc.GrpcObject | undefined;

/** The `envoy.service.discovery.v3` package (AggregatedDiscoveryService client and message types). */
export function discoveryPackage(): grpc.GrpcObject {
  if (!cached) {
    const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', DISCOVERY_LOADER_OPTIONS);
    const root = grpc.loadPackageDefinition(def) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    cached = root.envoy.service.discovery.v3 as grpc.GrpcObject;
  }
  return cached;
}

export function adsClientConstructor(): grpc.ServiceClientConstructor {
  return discoveryPackage().AggregatedDiscoveryService as grpc.ServiceClientConstructor;
}

// The subset of the delta messages this client reads and writes (proto-loader, keepCase).
export interface AnyMessage {
  type_url: string;
  value: Buffer;
}
export interface ResourceMessage {
  name: string;
  version: string;
  resource?: AnyMessage | null;
}
export interface DeltaResponse {
  system_version_info?: string;
  resources?: ResourceMessage[];
  type_url: string;
  removed_resources?: string[];
  nonce: string;
}
export interface DeltaRequest {
  node?: NodeMessage;
  type_url: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}
export interface NodeMessage {
  id: string;
  cluster?: string;
  metadata?: { fields: Record<string, { stringValue: string }> };
  user_agent_name?: string;
  user_agent_version?: string;
}
