// Mesh model → FleetResources: per service, what its Envoy sidecars need (group "<service>") and
// what its proxyless gRPC clients need (group "proxyless/<service>", straight to the endpoints:
// proxyless services run without sidecars); the broker-bridges get one
// sidecast.v1.Subscription per Subscription (group "sidecast-bridge"). Every resource is encoded
// by the strict checker, so an invalid one fails here with its name and field, not as a NACK.
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import {
  encodeEventContract,
  encodeSubscription,
  EVENT_CONTRACT_TYPE_URL,
  SUBSCRIPTION_TYPE_URL,
} from '../../proto/sidecast.js';
import { BRIDGE_CLUSTER, emitterConfig } from './emitter.js';
import {
  apiListener,
  cluster,
  ecdsFilter,
  httpConnectionManager,
  listener,
  routeConfiguration,
  wasmFilter,
  type ClusterPair,
} from './envoy-resources.js';
import { BRIDGE_GROUP } from './model.js';
import { splitEventRoutes } from './route-annotations.js';
import type { FleetResources, HostPort, MeshConfig, ServiceSpec } from './types.js';

export const INBOUND = 'sidecast_inbound';
export const OUTBOUND = 'sidecast_outbound';
export const EMITTER_ROOT_ID = 'event-emitter';
export const emitterResourceName = (service: string): string => `sidecast.event-emitter.${service}`;
export const proxylessGroup = (service: string): string => `proxyless/${service}`;
export const inboundCluster = (service: string): string => `inbound|${service}`;
export const outboundCluster = (service: string): string => `outbound|${service}`;

const PROTO_NAME: Record<string, string> = Object.fromEntries(
  Object.entries(TYPE).map(([, url]) => [url, url.replace('type.googleapis.com/', '')]),
);

/** Collects one group's resources, encoding each with the strict checker. */
class GroupBuilder {
  readonly types = new Map<string, Map<string, Uint8Array>>();
  constructor(private readonly group: string) {}

  add(typeUrl: string, name: string, json: Record<string, unknown>): void {
    const bytes = envoyChecker().encode(
      PROTO_NAME[typeUrl]!,
      json,
      `group ${this.group}: ${PROTO_NAME[typeUrl]} "${name}"`,
    );
    this.put(typeUrl, name, bytes);
  }

  put(typeUrl: string, name: string, bytes: Uint8Array): void {
    let byName = this.types.get(typeUrl);
    if (!byName) this.types.set(typeUrl, (byName = new Map()));
    if (byName.has(name))
      throw new Error(`group ${this.group}: two ${typeUrl} resources named "${name}" (translator bug)`);
    byName.set(name, bytes);
  }

  addCluster({ cluster: c, loadAssignment }: ClusterPair): void {
    this.add(TYPE.cluster, c.name as string, c);
    if (loadAssignment) this.add(TYPE.endpoint, c.name as string, loadAssignment);
  }
}

type GroupTypes = Map<string, Map<string, Uint8Array>>;

const jsons = new WeakMap<object, string>();
/** JSON of a model object, kept while the object lives (the model reuses objects of unchanged documents). */
function jsonOf(o: object): string {
  let j = jsons.get(o);
  if (j === undefined) jsons.set(o, (j = JSON.stringify(o)));
  return j;
}

/**
 * What translate() built last time, by group and by Subscription, with the inputs it was built from
 * (as JSON): kept across calls (the watcher's), an edit re-translates and re-checks only the groups
 * whose inputs changed. A pure function of the model either way — the output is the same bytes.
 */
export class TranslationMemo {
  readonly groups = new Map<string, { inputs: string; types: GroupTypes }>();
  readonly subscriptions = new Map<string, { inputs: string; bytes: Uint8Array }>();

  group(name: string, key: string, build: () => GroupBuilder): GroupTypes {
    const hit = this.groups.get(name);
    if (hit?.inputs === key) return hit.types;
    const types = build().types;
    this.groups.set(name, { inputs: key, types });
    return types;
  }
}

export function translate(config: MeshConfig, memo?: TranslationMemo): FleetResources {
  const fleet: FleetResources = new Map();
  const byName = new Map(config.services.map((s) => [s.name, s]));
  // Memo keys: a group's key is the JSON of what it reads (model objects reused across reloads keep theirs).
  const json = new Map<string, string>(memo ? config.services.map((s) => [s.name, jsonOf(s)]) : []);
  const routesJson = new Map<string, string>();
  if (memo)
    for (const r of config.eventRoutes)
      routesJson.set(
        r.service,
        `${routesJson.get(r.service) ?? ''},${r.name}|${r.origin.file}|${r.origin.document}|${jsonOf(r.rule)}`,
      );
  const meshJson = memo ? JSON.stringify(config.mesh) : '';
  const group = (name: string, key: () => string, build: () => GroupBuilder): GroupTypes =>
    memo ? memo.group(name, key(), build) : build().types;
  for (const service of config.services) {
    const called = service.calls.map((c) => byName.get(c)!);
    const calledJson = () => service.calls.map((c) => json.get(c)).join(',');
    // Everything sidecarGroup reads: mesh settings, the service, whom it calls, its EventRoutes.
    fleet.set(
      service.name,
      group(
        service.name,
        () => `${meshJson}|${json.get(service.name)}|${calledJson()}|${routesJson.get(service.name) ?? ''}`,
        () => sidecarGroup(config, service, called),
      ),
    );
    fleet.set(
      proxylessGroup(service.name),
      group(
        proxylessGroup(service.name),
        () => `${json.get(service.name)}|${calledJson()}`,
        () => proxylessClientGroup(service, called),
      ),
    );
  }
  fleet.set(BRIDGE_GROUP, bridgeGroup(config, memo));
  if (memo) for (const name of memo.groups.keys()) if (!fleet.has(name)) memo.groups.delete(name);
  return fleet;
}

function sidecarGroup(config: MeshConfig, service: ServiceSpec, called: ServiceSpec[]): GroupBuilder {
  const g = new GroupBuilder(service.name);
  const { mesh } = config;
  const wasm = (configuration: unknown) =>
    wasmFilter({
      name: emitterResourceName(service.name),
      rootId: EMITTER_ROOT_ID,
      vmId: 'sidecast.event-emitter',
      wasmFile: mesh.emitter.wasmFile,
      configuration,
    });

  // Mesh emitter.annotateRoutes: EventRoutes that can be Envoy routes carry their rule as route metadata.
  const split = mesh.emitter.annotateRoutes
    ? splitEventRoutes(config.eventRoutes.filter((r) => r.service === service.name))
    : undefined;

  g.addCluster(cluster(BRIDGE_CLUSTER, [{ host: mesh.bridge.host, port: mesh.bridge.port }]));
  g.addCluster(cluster(inboundCluster(service.name), localApp(service)));
  for (const c of called) g.addCluster(cluster(outboundCluster(c.name), viaSidecar(c)));

  // The default config (no rules) depends only on mesh settings, never on EventRoutes, so an
  // EventRoute change touches the ECDS resource alone: no listener drain.
  const noRules = emitterConfig({ ...config, eventRoutes: [] }, service);
  const emitter = ecdsFilter(emitterResourceName(service.name), wasm(noRules));
  g.add(
    TYPE.listener,
    INBOUND,
    listener(
      INBOUND,
      '0.0.0.0',
      service.sidecar.inboundPort,
      'INBOUND',
      httpConnectionManager(`inbound_${service.name}`, INBOUND, [emitter]),
    ),
  );
  g.add(
    TYPE.route,
    INBOUND,
    routeConfiguration(INBOUND, [
      {
        name: service.name,
        domains: ['*'],
        routeName: 'default',
        cluster: inboundCluster(service.name),
        routes: split?.routes,
      },
    ]),
  );
  g.add(TYPE.extensionConfig, emitterResourceName(service.name), {
    name: emitterResourceName(service.name),
    typed_config: wasm(emitterConfig(split ? { ...config, eventRoutes: split.rules } : config, service)),
  });

  if (called.length) {
    g.add(
      TYPE.listener,
      OUTBOUND,
      listener(
        OUTBOUND,
        '127.0.0.1',
        service.sidecar.outboundPort,
        'OUTBOUND',
        httpConnectionManager(`outbound_${service.name}`, OUTBOUND, []),
      ),
    );
    g.add(
      TYPE.route,
      OUTBOUND,
      routeConfiguration(
        OUTBOUND,
        called.map((c) => ({
          name: c.name,
          domains: [c.name, `${c.name}:*`],
          routeName: c.name,
          cluster: outboundCluster(c.name),
        })),
      ),
    );
  }
  return g;
}

/** What reference §1.12 says grpc-js-xds needs for `xds:///<called>`: LDS → RDS → CDS → EDS, all named. */
function proxylessClientGroup(service: ServiceSpec, called: ServiceSpec[]): GroupBuilder {
  const g = new GroupBuilder(proxylessGroup(service.name));
  for (const c of called) {
    g.add(TYPE.listener, c.name, apiListener(c.name, httpConnectionManager(c.name, c.name, [])));
    g.add(
      TYPE.route,
      c.name,
      routeConfiguration(c.name, [
        { name: c.name, domains: ['*'], routeName: c.name, cluster: outboundCluster(c.name) },
      ]),
    );
    g.addCluster(cluster(outboundCluster(c.name), c.endpoints, true));
  }
  return g;
}

function bridgeGroup(config: MeshConfig, memo?: TranslationMemo): GroupTypes {
  const g = new GroupBuilder(BRIDGE_GROUP);
  const services = new Map(config.services.map((s) => [s.name, s]));
  const live = new Set<string>();
  for (const sub of config.subscriptions) {
    const name = `${sub.service}/${sub.name}`;
    const d = sub.delivery;
    const json = {
      name,
      service: sub.service,
      topics: sub.topics,
      delivery: {
        url: deliveryUrl(services.get(sub.service)!, d.path),
        timeout: d.timeout,
        retry: d.retry,
        ordered_by_key: d.orderByKey,
        concurrency: d.concurrency,
        batch: d.batch,
      },
      dead_letter_topic: d.deadLetterTopic,
      filter: sub.filter,
      routes: sub.routes?.map((r) => ({
        filter: r.filter,
        url: deliveryUrl(services.get(sub.service)!, r.path),
      })),
    };
    live.add(name);
    if (!memo) {
      g.put(SUBSCRIPTION_TYPE_URL, name, encodeSubscription(json));
      continue;
    }
    const inputs = JSON.stringify(json);
    let hit = memo.subscriptions.get(name);
    if (hit?.inputs !== inputs)
      memo.subscriptions.set(name, (hit = { inputs, bytes: encodeSubscription(json) }));
    g.put(SUBSCRIPTION_TYPE_URL, name, hit.bytes);
  }
  for (const route of config.eventRoutes) {
    const c = route.contract;
    if (!c) continue;
    const name = `${route.service}/${route.name}`;
    g.put(
      EVENT_CONTRACT_TYPE_URL,
      name,
      encodeEventContract({
        name,
        type: c.type,
        schema_json: c.schemaJson,
        schema_id: c.schemaId,
        policy: c.policy === 'deadLetter' ? 'DEAD_LETTER' : c.policy === 'warn' ? 'WARN' : 'REJECT',
        dead_letter_topic: c.deadLetterTopic,
      }),
    );
  }
  if (memo)
    for (const name of memo.subscriptions.keys()) if (!live.has(name)) memo.subscriptions.delete(name);
  return g.types;
}

/**
 * Where a sidecar reaches its own app. A declared sidecar shares the app's network namespace (the
 * sidecar pattern), so it uses loopback and the app may listen on 127.0.0.1 only.
 */
function localApp(service: ServiceSpec): HostPort[] {
  if (!service.sidecar.set) return service.endpoints;
  return [...new Set(service.endpoints.map((e) => e.port))].map((port) => ({ host: '127.0.0.1', port }));
}

/** Where others reach a service: its sidecar's inbound port when it declares one (so its emitter sees the call). */
function viaSidecar(service: ServiceSpec): HostPort[] {
  return service.sidecar.set
    ? service.endpoints.map((e) => ({ host: e.host, port: service.sidecar.inboundPort }))
    : service.endpoints;
}

/** Through the subscriber's sidecar when it has one configured, else straight to its first endpoint. */
function deliveryUrl(service: ServiceSpec, path: string): string {
  const first = viaSidecar(service)[0]!;
  const host = first.host.includes(':') ? `[${first.host}]` : first.host;
  return `http://${host}:${first.port}${path}`;
}
