// Client Status Discovery Service (envoy.service.status.v3.ClientStatusDiscoveryService): what
// this server sent each connected node, per type and resource, and whether the node ACKed it,
// NACKed it (with the error) or has not answered yet (STALE) — what `istioctl proxy-status`-style
// tools read. Served on the xDS port; with an admin token it needs `authorization: Bearer <token>`.
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { ENVOY_PROTO_DIRS, loadProtoRoot } from '../../proto/envoy.js';
import type { XdsNode } from './messages.js';
import type { XdsStream } from './stream.js';
import { stateOf, type SyncState } from './sync-status.js';
import type { XdsServer } from './xds-server.js';

const SERVICE = 'envoy.service.status.v3.ClientStatusDiscoveryService';

let types: { req: protobuf.Type; res: protobuf.Type } | undefined;
function csdsTypes() {
  if (!types) {
    const root = loadProtoRoot(['envoy/service/status/v3/csds.proto'], ENVOY_PROTO_DIRS);
    types = {
      req: root.lookupType('envoy.service.status.v3.ClientStatusRequest'),
      res: root.lookupType('envoy.service.status.v3.ClientStatusResponse'),
    };
  }
  return types;
}

interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safe_regex?: { regex?: string };
  ignore_case?: boolean;
}
interface ClientStatusRequest {
  node_matchers?: Array<{ node_id?: StringMatcher; node_metadatas?: unknown[] }>;
  exclude_resource_contents?: boolean;
}

/** Thrown for requests this server cannot answer (reported as INVALID_ARGUMENT). */
class CsdsRequestError extends Error {}

function matches(m: StringMatcher, value: string): boolean {
  const fold = (s: string) => (m.ignore_case ? s.toLowerCase() : s);
  const v = fold(value);
  if (m.exact !== undefined) return v === fold(m.exact);
  if (m.prefix !== undefined) return v.startsWith(fold(m.prefix));
  if (m.suffix !== undefined) return v.endsWith(fold(m.suffix));
  if (m.contains !== undefined) return v.includes(fold(m.contains));
  if (m.safe_regex?.regex !== undefined) {
    try {
      return new RegExp(`^(?:${m.safe_regex.regex})$`).test(value);
    } catch (e) {
      throw new CsdsRequestError(`node_id.safe_regex is not a valid regex: ${(e as Error).message}`);
    }
  }
  return true;
}

function selected(req: ClientStatusRequest, nodeId: string): boolean {
  const matchers = req.node_matchers ?? [];
  if (!matchers.length) return true;
  return matchers.some((m) => {
    if (m.node_metadatas?.length)
      throw new CsdsRequestError('node_matchers[].node_metadatas is not supported; match on node_id');
    return !m.node_id || matches(m.node_id, nodeId);
  });
}

const CONFIG_STATUS: Record<SyncState, number> = { SYNCED: 1, NOT_SENT: 2, STALE: 3, NACKED: 4 };
const CLIENT = { REQUESTED: 1, DOES_NOT_EXIST: 2, ACKED: 3, NACKED: 4 } as const;

const timestamp = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

function nodeJson(n: XdsNode): Record<string, unknown> {
  return {
    id: n.id,
    cluster: n.cluster,
    user_agent_name: n.userAgentName,
    user_agent_version: n.userAgentVersion,
    client_features: n.clientFeatures,
    locality: { region: n.locality.region, zone: n.locality.zone, sub_zone: n.locality.subZone },
  };
}

/** GenericXdsConfig entries of one stream: every resource of every type it subscribed to. */
function streamConfigs(s: XdsStream, server: XdsServer, withContents: boolean): unknown[] {
  const out: unknown[] = [];
  for (const ts of s.types.values()) {
    const state = stateOf(ts);
    const snap = server.snapshotFor(s, ts.typeUrl);
    const names = new Set([...ts.names, ...[...ts.sent].filter(([, v]) => v !== '').map(([n]) => n)]);
    const nack = state === 'NACKED' ? ts.lastNack : undefined;
    for (const name of [...names].sort()) {
      const version = ts.sent.get(name);
      const r = snap?.resources.get(name);
      const sent = version !== undefined && version !== '';
      const clientStatus = !sent
        ? r || version === undefined
          ? CLIENT.REQUESTED
          : CLIENT.DOES_NOT_EXIST
        : nack
          ? CLIENT.NACKED
          : state === 'SYNCED'
            ? CLIENT.ACKED
            : CLIENT.REQUESTED;
      out.push({
        type_url: ts.typeUrl,
        name,
        version_info: sent ? version : '',
        ...(withContents && sent && r && r.version === version
          ? { xds_config: { type_url: ts.typeUrl, value: r.bytes } }
          : {}),
        ...(ts.lastSent ? { last_updated: timestamp(ts.lastSent.at) } : {}),
        config_status: sent ? CONFIG_STATUS[state] : CONFIG_STATUS.NOT_SENT,
        client_status: clientStatus,
        ...(nack
          ? {
              error_state: {
                last_update_attempt: timestamp(nack.at),
                details: nack.message,
                version_info: nack.version,
              },
            }
          : {}),
      });
    }
  }
  return out;
}

/** ClientStatusResponse for a request: one ClientConfig per connected node it selects. */
export function clientStatus(server: XdsServer, req: ClientStatusRequest): Record<string, unknown> {
  const byNode = new Map<string, { node: XdsNode; configs: unknown[] }>();
  for (const s of server.openStreams()) {
    if (!s.node || !selected(req, s.node.id)) continue;
    let entry = byNode.get(s.node.id);
    if (!entry) byNode.set(s.node.id, (entry = { node: s.node, configs: [] }));
    entry.configs.push(...streamConfigs(s, server, !req.exclude_resource_contents));
  }
  return {
    config: [...byNode.values()].map((e) => ({ node: nodeJson(e.node), generic_xds_configs: e.configs })),
  };
}

/** Adds the CSDS service to a grpc-js server; `token` (when set) is required as a bearer token. */
export function registerCsds(grpcServer: grpc.Server, server: XdsServer, token?: string): void {
  const { req, res } = csdsTypes();
  const decode = (b: Buffer) => req.toObject(req.decode(b), { defaults: false }) as ClientStatusRequest;
  const encode = (o: Record<string, unknown>) => Buffer.from(res.encode(res.fromObject(o)).finish());
  const denied = (md: grpc.Metadata): grpc.ServiceError | undefined => {
    if (!token || md.get('authorization')[0] === `Bearer ${token}`) return undefined;
    return Object.assign(new Error('CSDS needs "authorization: Bearer <admin token>" metadata'), {
      code: grpc.status.UNAUTHENTICATED,
      details: 'CSDS needs "authorization: Bearer <admin token>" metadata (--admin-token)',
      metadata: new grpc.Metadata(),
    });
  };
  const answer = (r: ClientStatusRequest): { value?: Record<string, unknown>; error?: grpc.ServiceError } => {
    try {
      return { value: clientStatus(server, r) };
    } catch (e) {
      if (!(e instanceof CsdsRequestError)) throw e;
      return {
        error: Object.assign(new Error(e.message), {
          code: grpc.status.INVALID_ARGUMENT,
          details: e.message,
          metadata: new grpc.Metadata(),
        }),
      };
    }
  };
  const method = (name: string, stream: boolean) => ({
    path: `/${SERVICE}/${name}`,
    requestStream: stream,
    responseStream: stream,
    requestDeserialize: decode,
    requestSerialize: () => {
      throw new Error('the server never serializes CSDS requests');
    },
    responseSerialize: encode,
    responseDeserialize: () => {
      throw new Error('the server never deserializes CSDS responses');
    },
  });
  grpcServer.addService(
    {
      StreamClientStatus: method('StreamClientStatus', true),
      FetchClientStatus: method('FetchClientStatus', false),
    },
    {
      StreamClientStatus: (call: grpc.ServerDuplexStream<ClientStatusRequest, Record<string, unknown>>) => {
        const err = denied(call.metadata);
        if (err) return call.emit('error', err);
        call.on('data', (r: ClientStatusRequest) => {
          const a = answer(r);
          if (a.error) call.emit('error', a.error);
          else if (a.value) call.write(a.value);
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
      FetchClientStatus: (
        call: grpc.ServerUnaryCall<ClientStatusRequest, Record<string, unknown>>,
        cb: grpc.sendUnaryData<Record<string, unknown>>,
      ) => {
        const err = denied(call.metadata);
        if (err) return cb(err);
        const a = answer(call.request);
        cb(a.error ?? null, a.value);
      },
    },
  );
}
