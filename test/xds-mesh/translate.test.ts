import { describe, expect, it } from '@jest/globals';
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import { decodeSubscription, SUBSCRIPTION_TYPE_URL } from '../../proto/sidecast.js';
import {
  BRIDGE_GROUP,
  emitterResourceName,
  NO_EVENTS_RULE,
  parseMesh,
  proxylessGroup,
  resourcesVersion,
  translate,
  type FleetResources,
} from '../../xds-server/mesh/index.js';
import { BANK, edit } from './bank.js';

const fleetOf = (text: string, file = 'bank.yaml'): FleetResources => translate(parseMesh([{ file, text }]));
const NAME: Record<string, string> = Object.fromEntries(
  Object.values(TYPE).map((u) => [u, u.split('/')[1]!]),
);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const decode = (fleet: FleetResources, group: string, type: string, name: string): Json => {
  const bytes = fleet.get(group)?.get(type)?.get(name);
  if (!bytes) throw new Error(`no ${type} ${name} in group ${group}`);
  return envoyChecker().decode(NAME[type]!, bytes, `${group} ${name}`);
};
const emitterJson = (fleet: FleetResources, service: string): Json =>
  JSON.parse(
    decode(fleet, service, TYPE.extensionConfig, emitterResourceName(service)).typed_config.config
      .configuration.value,
  );

/** Every (group, type, name) → bytes, flattened for comparisons. */
const flat = (fleet: FleetResources) =>
  new Map(
    [...fleet].flatMap(([g, types]) =>
      [...types].flatMap(([t, names]) =>
        [...names].map(([n, b]) => [`${g} ${t} ${n}`, Buffer.from(b).toString('hex')] as const),
      ),
    ),
  );

describe('translation of the bank example', () => {
  const fleet = fleetOf(BANK);

  it('has one sidecar group and one proxyless group per service, plus the bridge group', () => {
    expect([...fleet.keys()].sort()).toEqual(
      [
        'accounts',
        'analytics',
        'audit',
        'notifications',
        BRIDGE_GROUP,
        ...['accounts', 'analytics', 'audit', 'notifications'].map(proxylessGroup),
      ].sort(),
    );
    const names = (g: string, t: string) => [...(fleet.get(g)?.get(t)?.keys() ?? [])].sort();
    expect(names('accounts', TYPE.cluster)).toEqual([
      'inbound|accounts',
      'outbound|audit',
      'sidecast_bridge',
    ]);
    expect(names('accounts', TYPE.endpoint)).toEqual([
      'inbound|accounts',
      'outbound|audit',
      'sidecast_bridge',
    ]);
    expect(names('accounts', TYPE.listener)).toEqual(['sidecast_inbound', 'sidecast_outbound']);
    expect(names('accounts', TYPE.route)).toEqual(['sidecast_inbound', 'sidecast_outbound']);
    expect(names('accounts', TYPE.extensionConfig)).toEqual(['sidecast.event-emitter.accounts']);
    expect(names('audit', TYPE.listener)).toEqual(['sidecast_inbound']); // calls nothing: no outbound listener
  });

  it('every resource decodes strictly (no unknown fields, every Any of a known type)', () => {
    let count = 0;
    for (const [group, types] of fleet)
      for (const [type, names] of types)
        for (const [name, bytes] of names) {
          if (type === SUBSCRIPTION_TYPE_URL) decodeSubscription(bytes);
          else envoyChecker().decode(NAME[type]!, bytes, `${group} ${name}`);
          count++;
        }
    expect(count).toBe(39);
  });

  it('wires the inbound listener to the emitter through ECDS, router last', () => {
    const l = decode(fleet, 'accounts', TYPE.listener, 'sidecast_inbound');
    expect(l.address.socket_address).toEqual({ address: '0.0.0.0', port_value: 15006 });
    const hcm = l.filter_chains[0].filters[0].typed_config;
    expect(hcm.rds).toEqual({
      config_source: { ads: {}, resource_api_version: 'V3' },
      route_config_name: 'sidecast_inbound',
    });
    expect(hcm.http_filters.map((f: Json) => f.name)).toEqual([
      'sidecast.event-emitter.accounts',
      'envoy.filters.http.router',
    ]);
    const discovery = hcm.http_filters[0].config_discovery;
    expect(discovery.type_urls).toEqual([TYPE.wasm]);
    expect(discovery.config_source.ads).toEqual({});
    expect(discovery.default_config['@type']).toBe(TYPE.wasm);
    expect(JSON.parse(discovery.default_config.config.configuration.value).rules).toEqual([NO_EVENTS_RULE]);
    const route = decode(fleet, 'accounts', TYPE.route, 'sidecast_inbound');
    expect(route.virtual_hosts[0].routes[0].route.cluster).toBe('inbound|accounts');
  });

  it('puts the emitter JSON of the service in a StringValue, fail-open, from the local wasm file', () => {
    const ecds = decode(fleet, 'accounts', TYPE.extensionConfig, 'sidecast.event-emitter.accounts');
    const plugin = ecds.typed_config.config;
    expect(plugin).toMatchObject({
      name: 'sidecast.event-emitter.accounts',
      root_id: 'event-emitter',
      fail_open: true,
      vm_config: {
        runtime: 'envoy.wasm.runtime.v8',
        code: { local: { filename: '/etc/sidecast/event-emitter.wasm' } },
      },
    });
    expect(plugin.configuration['@type']).toBe('type.googleapis.com/google.protobuf.StringValue');
    const json = emitterJson(fleet, 'accounts');
    expect(json.source).toBe('//bank.example/accounts');
    expect(json.bridge).toEqual({
      cluster: 'sidecast_bridge',
      authority: 'sidecast-bridge',
      path: '/v1/events',
      timeout_ms: 2000,
    });
    expect(json.rules.map((r: Json) => r.event.topic)).toEqual(['acme/bank/account/opened/v1']);
    expect(emitterJson(fleet, 'audit').rules).toEqual([NO_EVENTS_RULE]); // the filter needs ≥ 1 rule
  });

  it('gives proxyless gRPC clients what grpc-js-xds needs: api_listener → RDS → EDS cluster → CLA with locality', () => {
    const g = proxylessGroup('accounts');
    const l = decode(fleet, g, TYPE.listener, 'audit');
    const hcm = l.api_listener.api_listener;
    expect(hcm.rds).toEqual({
      config_source: { ads: {}, resource_api_version: 'V3' },
      route_config_name: 'audit',
    });
    expect(hcm.http_filters.map((f: Json) => f.name)).toEqual(['envoy.filters.http.router']);
    expect(decode(fleet, g, TYPE.route, 'audit').virtual_hosts[0].routes[0].route.cluster).toBe(
      'outbound|audit',
    );
    const c = decode(fleet, g, TYPE.cluster, 'outbound|audit');
    expect(c).toMatchObject({ type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
    const cla = decode(fleet, g, TYPE.endpoint, 'outbound|audit');
    expect(cla.endpoints[0].locality).toBeDefined();
    expect(cla.endpoints[0].load_balancing_weight).toBe(1);
    expect(cla.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: '127.0.0.1',
      port_value: 8083,
    });
    expect(fleet.get(proxylessGroup('audit'))!.size).toBe(0);
  });

  it('serves one Subscription per Subscription document to the bridge group', () => {
    const subs = fleet.get(BRIDGE_GROUP)!.get(SUBSCRIPTION_TYPE_URL)!;
    expect([...subs.keys()].sort()).toEqual([
      'analytics/bank-metrics',
      'audit/account-trail',
      'notifications/welcome-email',
    ]);
    const s = decodeSubscription(subs.get('notifications/welcome-email')!);
    expect(s).toEqual({
      name: 'notifications/welcome-email',
      service: 'notifications',
      topics: ['acme/bank/account/opened/v1'],
      delivery: {
        url: 'http://127.0.0.1:8082/events',
        timeout: '5s',
        retry: {
          attempts: 5,
          // backoff EXPONENTIAL is the enum's zero value: proto3 leaves it off the wire (protobufjs 8)
          base_delay: '0.2s',
          max_delay: '10s',
          retry_after_cap: '30s',
        },
        ordered_by_key: true,
        concurrency: 16,
      },
      dead_letter_topic: 'acme/bank/dlq/notifications',
    });
  });
});

describe('translation properties', () => {
  it('changing an EventRoute changes only that service ECDS resource', () => {
    const before = flat(fleetOf(BANK));
    const after = flat(
      fleetOf(edit(BANK, ['topic: acme/bank/account/opened/v1', 'topic: acme/bank/account/created/v1'])),
    );
    const changed = [...before.keys()].filter((k) => before.get(k) !== after.get(k));
    expect(changed).toEqual([`accounts ${TYPE.extensionConfig} sidecast.event-emitter.accounts`]);
    expect([...after.keys()]).toEqual([...before.keys()]);
  });

  it('adding an EventRoute to another service changes only that service ECDS resource', () => {
    const extra = `---\napiVersion: sidecast.io/v1\nkind: EventRoute\nmetadata: { name: audit-read }\nspec:\n  service: audit\n  match: { routeName: default, status: ["2xx"] }\n  event: { type: acme.bank.audit.read.v1, topic: acme/bank/audit/read/v1 }\n`;
    const before = flat(fleetOf(BANK));
    const after = flat(fleetOf(BANK + extra));
    expect([...before.keys()].filter((k) => before.get(k) !== after.get(k))).toEqual([
      `audit ${TYPE.extensionConfig} sidecast.event-emitter.audit`,
    ]);
  });

  it('is deterministic: same input, same bytes, however the documents are split and ordered', () => {
    const docs = BANK.split(/^---$/m);
    const reversed = [...docs].reverse().join('\n---\n');
    const a = fleetOf(BANK);
    const b = translate(
      parseMesh([
        { file: 'z.yaml', text: docs.slice(0, 4).join('\n---\n') },
        { file: 'a.yaml', text: docs.slice(4).reverse().join('\n---\n') },
      ]),
    );
    expect(flat(fleetOf(reversed))).toEqual(flat(a));
    expect(flat(b)).toEqual(flat(a));
    expect(resourcesVersion(b)).toBe(resourcesVersion(a));
    expect(resourcesVersion(fleetOf(edit(BANK, ['8084', '8085'])))).not.toBe(resourcesVersion(a));
  });

  it('uses STRICT_DNS with an inline load assignment for host names, EDS for literal IPs', () => {
    const fleet = fleetOf(
      edit(BANK, ["endpoints: ['127.0.0.1:8083']", 'endpoints: ["audit.bank.svc:8083", "10.0.0.7:8083"]']),
    );
    const c = decode(fleet, 'accounts', TYPE.cluster, 'outbound|audit');
    expect(c.type).toBe('STRICT_DNS');
    expect(c.load_assignment.endpoints[0].lb_endpoints).toHaveLength(2);
    expect(fleet.get('accounts')!.get(TYPE.endpoint)!.has('outbound|audit')).toBe(false);
  });

  it('with a declared sidecar: deliveries and callers go through it, it reaches its app on loopback', () => {
    const fleet = fleetOf(
      edit(
        BANK,
        [
          "endpoints: ['127.0.0.1:8082']",
          'endpoints: ["notifications.bank:8082"]\n  sidecar: { inboundPort: 16006 }',
        ],
        ["endpoints: ['127.0.0.1:8083']", 'endpoints: ["10.1.0.3:8083"]\n  sidecar: { inboundPort: 15006 }'],
      ),
    );
    const s = decodeSubscription(
      fleet.get(BRIDGE_GROUP)!.get(SUBSCRIPTION_TYPE_URL)!.get('notifications/welcome-email')!,
    );
    expect(s.delivery!.url).toBe('http://notifications.bank:16006/events');
    const l = decode(fleet, 'notifications', TYPE.listener, 'sidecast_inbound');
    expect(l.address.socket_address.port_value).toBe(16006);
    const app = decode(fleet, 'notifications', TYPE.endpoint, 'inbound|notifications');
    expect(app.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: '127.0.0.1',
      port_value: 8082,
    });
    // accounts calls audit: through audit's sidecar; its proxyless clients go straight to the app.
    const viaSidecar = decode(fleet, 'accounts', TYPE.endpoint, 'outbound|audit');
    expect(viaSidecar.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: '10.1.0.3',
      port_value: 15006,
    });
    const direct = decode(fleet, proxylessGroup('accounts'), TYPE.endpoint, 'outbound|audit');
    expect(direct.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: '10.1.0.3',
      port_value: 8083,
    });
  });

  it('carries the mesh emitter settings (wasm file, batching, retry, token) into every service', () => {
    const text = edit(
      BANK,
      [
        'batch: { maxEvents: 64, flushInterval: 100ms }',
        'batch: { maxEvents: 10, maxBytes: 65536, flushInterval: 1s, maxBufferedEvents: 100 }\n    retry: { maxAttempts: 3, baseDelay: 50ms, maxDelay: 2s }',
      ],
      ['wasmFile: /etc/sidecast/event-emitter.wasm', 'wasmFile: /opt/filters/emitter.wasm'],
      [
        'bridge: { address: 127.0.0.1, port: 8090 }',
        'bridge: { address: 127.0.0.1, port: 8090, token: s3cret, timeout: 500ms }',
      ],
    );
    const fleet = fleetOf(text);
    const json = emitterJson(fleet, 'analytics');
    expect(json.batch).toEqual({
      max_events: 10,
      max_bytes: 65536,
      flush_interval_ms: 1000,
      max_buffered_events: 100,
    });
    expect(json.retry).toEqual({ max_attempts: 3, base_delay_ms: 50, max_delay_ms: 2000 });
    expect(json.bridge).toMatchObject({ token: 's3cret', timeout_ms: 500 });
    expect(
      decode(fleet, 'analytics', TYPE.extensionConfig, 'sidecast.event-emitter.analytics').typed_config.config
        .vm_config.code.local.filename,
    ).toBe('/opt/filters/emitter.wasm');
  });

  it('refuses, naming the EventRoute, a rule the emitter schema (common/emitter-config.schema.json) rejects', () => {
    const text = edit(BANK, [
      'data: { from: response_body, redact: [ssn] }',
      'data: { from: response_body, field: "a..b" }',
    ]);
    expect(() => fleetOf(text)).toThrow(
      /bank.yaml, document 6 \(EventRoute account-opened\), field emitter config rule.event.data.field: must match pattern/,
    );
  });
});
