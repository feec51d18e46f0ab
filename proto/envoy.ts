// Envoy's v3 API protos, loaded once from the copies @grpc/grpc-js-xds ships under deps/ (never
// copied into this repo), plus a strict checker bound to them.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { ProtoChecker, typeUrlOf } from './check.js';

const require = createRequire(import.meta.url);
const xdsPackage = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
const protobufjsPackage = dirname(require.resolve('protobufjs/package.json'));

/** Include directories, in the order protoc would use them. */
export const ENVOY_PROTO_DIRS: readonly string[] = [
  ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(xdsPackage, 'deps', d)),
  protobufjsPackage, // google/protobuf/descriptor.proto (the other google/protobuf types are built into protobufjs)
];

/** Entry files: everything sidecast produces or reads, and what its Envoy YAML files use. */
export const ENVOY_PROTO_FILES: readonly string[] = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/wasm/v3/wasm.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'google/protobuf/wrappers.proto',
];

/** Type URLs sidecast serves to Envoy and grpc-js-xds clients. */
export const TYPE = {
  listener: typeUrlOf('envoy.config.listener.v3.Listener'),
  route: typeUrlOf('envoy.config.route.v3.RouteConfiguration'),
  cluster: typeUrlOf('envoy.config.cluster.v3.Cluster'),
  endpoint: typeUrlOf('envoy.config.endpoint.v3.ClusterLoadAssignment'),
  extensionConfig: typeUrlOf('envoy.config.core.v3.TypedExtensionConfig'),
  wasm: typeUrlOf('envoy.extensions.filters.http.wasm.v3.Wasm'),
  bootstrap: typeUrlOf('envoy.config.bootstrap.v3.Bootstrap'),
} as const;

/** Loads a Root from the given entry files, resolving imports against the include directories. */
export function loadProtoRoot(files: readonly string[], dirs: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (existsSync(target)) return target;
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target; // protobufjs then uses its bundled copy (google/protobuf/*) or reports the file missing
  };
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

let root: protobuf.Root | undefined;
let checker: ProtoChecker | undefined;

/** The one Root holding Envoy's API (≈0.1 s to load; loaded on first use). */
export function envoyRoot(): protobuf.Root {
  root ??= loadProtoRoot(ENVOY_PROTO_FILES, ENVOY_PROTO_DIRS);
  return root;
}

/** Strict checker over Envoy's API: encode/check proto3 JSON, decode bytes with Any expanded. */
export function envoyChecker(): ProtoChecker {
  checker ??= new ProtoChecker(envoyRoot());
  return checker;
}
