// Every YAML file under envoy-configs/ is checked here, and so is what the xds-server generates for
// the bank mesh (test/fixtures/bank-mesh.yaml): Envoy bootstraps and resources against Envoy's protos (unknown or
// mistyped fields fail, Any contents decoded and checked by type URL), Istio resources against
// their CRD shapes, the compose demo against the files and configs it refers to.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse, parseAllDocuments } from 'yaml';
import { configFromObject } from '../../broker-bridge/config.js';
import { ProtoCheckError } from '../../proto/check.js';
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import {
  emitterConfig,
  groupOf,
  loadMesh,
  translate,
  type FleetResources,
} from '../../xds-server/mesh/index.js';
import {
  acceptAll,
  emitter,
  exchange,
  flush,
  stat,
  type RequestSpec,
  type ResponseSpec,
} from '../event-emitter/harness.js';
import { ISTIO_SCHEMAS } from './istio-shapes.js';
import { BANK_FILE } from '../xds-mesh/bank.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const REPO = resolve(new URL('../..', import.meta.url).pathname);
const CONFIGS = join(REPO, 'envoy-configs');
const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
const documents = (file: string): Json[] => {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  const list = Array.isArray(docs) ? docs : [];
  for (const d of list) if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
  return list.map((d) => d.toJS() as Json);
};
const rel = (f: string) => relative(REPO, f);

/** Encodes with the strict checker, then decodes the bytes (Any expanded and checked again). */
const checkEnvoy = (type: string, json: unknown, where: string): Json =>
  envoyChecker().decode(type, envoyChecker().encode(type, json, where), where);

const emitterSchema = new Ajv2020({ allErrors: true, strict: false }).compile(
  JSON.parse(readFileSync(join(REPO, 'common/emitter-config.schema.json'), 'utf8')),
);
const bank = loadMesh(BANK_FILE);
const bankEmitter = (service: string) =>
  emitterConfig(
    bank,
    bank.services.find((s) => s.name === service)!,
  );

function wasmFilters(bootstrap: Json): Json[] {
  const out: Json[] = [];
  for (const l of bootstrap.static_resources?.listeners ?? [])
    for (const chain of l.filter_chains ?? [])
      for (const f of chain.filters ?? [])
        for (const h of f.typed_config?.http_filters ?? [])
          if (h.typed_config?.['@type'] === TYPE.wasm) out.push(h.typed_config);
  return out;
}

describe('envoy-configs/', () => {
  const files = yamlFiles(CONFIGS);

  it('holds the files users are pointed to', () => {
    expect(files.map(rel).sort()).toEqual(
      expect.arrayContaining([
        'envoy-configs/sidecar-bootstrap.yaml',
        'envoy-configs/static-emitter.yaml',
        'envoy-configs/istio/wasmplugin-event-emitter.yaml',
        'envoy-configs/compose/docker-compose.yaml',
      ]),
    );
  });

  // Each file is checked by exactly one rule; a YAML file no rule claims fails here.
  const kindOf = (file: string): 'istio' | 'compose' | 'mesh' | 'bridge' | 'envoy' => {
    if (rel(file).startsWith('envoy-configs/istio/')) return 'istio';
    if (basename(file) === 'docker-compose.yaml') return 'compose';
    if (basename(file) === 'mesh.yaml') return 'mesh';
    if (basename(file) === 'bridge.yaml') return 'bridge';
    return 'envoy';
  };

  describe.each(files.filter((f) => kindOf(f) === 'envoy').map(rel))('Envoy bootstrap %s', (file) => {
    const [doc, ...more] = documents(join(REPO, file));
    it('is one Bootstrap that passes the strict checker, Any contents included', () => {
      expect(more).toEqual([]);
      const decoded = checkEnvoy(BOOTSTRAP, doc, file);
      expect(decoded.admin?.address?.socket_address?.address).toBe('127.0.0.1'); // admin never on a public address
    });
    it('configures every wasm filter fail-open with emitter JSON the emitter schema accepts', () => {
      for (const w of wasmFilters(doc!)) {
        expect(w.config.fail_open).toBe(true);
        expect(w.config.configuration['@type']).toBe('type.googleapis.com/google.protobuf.StringValue');
        const json = JSON.parse(w.config.configuration.value);
        expect(emitterSchema(json) ? [] : emitterSchema.errors).toEqual([]);
        const clusters = (doc!.static_resources.clusters as Json[]).map((c) => c.name);
        expect(clusters).toContain(json.bridge.cluster);
      }
    });
  });

  it('sidecar-bootstrap.yaml: delta ADS for everything, node grouped as its service', () => {
    const [b] = documents(join(CONFIGS, 'sidecar-bootstrap.yaml'));
    expect(b!.dynamic_resources.ads_config.api_type).toBe('DELTA_GRPC');
    expect(b!.dynamic_resources.lds_config.ads).toEqual({});
    expect(b!.dynamic_resources.cds_config.ads).toEqual({});
    expect(b!.node.metadata['sidecast.service']).toBe('accounts');
    expect(groupOf(b!.node)).toBe('accounts');
    expect(groupOf(checkEnvoy(BOOTSTRAP, b, 'sidecar-bootstrap.yaml').node)).toBe('accounts'); // metadata survives the bytes
    expect(b!.static_resources.clusters.map((c: Json) => c.name)).toEqual(['sidecast_xds']);
  });

  it('static-emitter.yaml carries the same emitter JSON the xds-server makes for accounts (plus route annotations on)', () => {
    const [b] = documents(join(CONFIGS, 'static-emitter.yaml'));
    const [w] = wasmFilters(b!);
    // Its routes are annotated, so it reads them; the xds-server's routes are not (switch off).
    expect(JSON.parse(w!.config.configuration.value)).toEqual({
      ...bankEmitter('accounts'),
      route_annotations: true,
    });
    expect(w!.config.root_id).toBe('event-emitter');
  });

  it('static-emitter.yaml in the test host: its plugin rule and its annotated route both emit', async () => {
    const [b] = documents(join(CONFIGS, 'static-emitter.yaml'));
    const [w] = wasmFilters(b!);
    const hcm = b!.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const e = await emitter(JSON.parse(w!.config.configuration.value), { routes: hcm.route_config });
    const json = { 'content-type': 'application/json' };
    // Its batches flush every 100 ms.
    const emitOne = (req: RequestSpec, res: ResponseSpec) => {
      exchange(e.plugin, req, res);
      return flush(e.host, 100).flatMap(acceptAll);
    };
    const opened = emitOne(
      { path: '/accounts' },
      { status: 201, headers: json, body: '{"id":"acc-1","ssn":"1"}' },
    );
    expect(opened.map((x) => [x.type, x.subject, x.data])).toEqual([
      ['acme.bank.account.opened.v1', 'acc-1', { id: 'acc-1', ssn: '[redacted]' }],
    ]);
    const refused = emitOne(
      { path: '/accounts' },
      { status: 409, headers: json, body: '{"error":"key reused"}' },
    );
    expect(refused.map((x) => [x.type, x.topic, x.subject, x.data])).toEqual([
      ['acme.bank.account.rejected.v1', 'acme/bank/account/rejected/v1', '409', 'key reused'],
    ]);
    expect(emitOne({ method: 'GET', path: '/healthz' }, { status: 404 })).toHaveLength(0);
    expect(stat(e.host, 'bad_annotation')).toBe(0);
  });

  describe.each(files.filter((f) => kindOf(f) === 'istio').map(rel))('Istio %s', (file) => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    it('every document has the shape of its Istio CRD', () => {
      const docs = documents(join(REPO, file));
      expect(docs.length).toBeGreaterThan(0);
      for (const d of docs) {
        const schema = ISTIO_SCHEMAS[d.kind];
        if (!schema)
          throw new Error(
            `${file}: kind ${d.kind} has no shape check; add it to test/envoy-configs/istio-shapes.ts`,
          );
        const check = ajv.compile(schema);
        expect(check(d) ? [] : check.errors).toEqual([]);
      }
    });
  });

  it('istio WasmPlugin: fail-open inbound emitter, pluginConfig = the bank rules, bridge cluster declared', () => {
    const [p] = documents(join(CONFIGS, 'istio/wasmplugin-event-emitter.yaml'));
    expect(p!.spec).toMatchObject({
      failStrategy: 'FAIL_OPEN',
      pluginName: 'event-emitter',
      type: 'HTTP',
      match: [{ mode: 'SERVER' }],
    });
    const config = p!.spec.pluginConfig;
    expect(emitterSchema(config) ? [] : emitterSchema.errors).toEqual([]);
    expect(config.rules).toEqual(bankEmitter('accounts').rules);
    const host = /^outbound\|(\d+)\|\|(.+)$/.exec(config.bridge.cluster);
    expect(host).not.toBeNull();
    const rules = documents(join(CONFIGS, 'istio/bridge-destination.yaml')).filter(
      (d) => d.kind === 'DestinationRule',
    );
    expect(rules.map((r) => r.spec.host)).toContain(host![2]);
  });

  describe('compose/', () => {
    const composeFile = join(CONFIGS, 'compose/docker-compose.yaml');
    const compose = documents(composeFile)[0]!;
    const services = compose.services as Record<string, Json>;
    const mesh = loadMesh(join(CONFIGS, 'compose/mesh.yaml'));
    const fleet = translate(mesh);
    const [bootstrap] = documents(join(CONFIGS, 'sidecar-bootstrap.yaml'));

    it('mounts only files that exist (or the wasm that npm run build:wasm writes)', () => {
      for (const [name, s] of Object.entries(services))
        for (const v of (s.volumes ?? []) as string[]) {
          const src = v.split(':')[0]!;
          if (!src.startsWith('.')) continue; // named volume
          const path = resolve(dirname(composeFile), src);
          if (rel(path) === 'build/event-emitter.wasm')
            expect(existsSync(join(REPO, 'filters/event-emitter'))).toBe(true);
          else expect([name, rel(path), existsSync(path)]).toEqual([name, rel(path), true]);
        }
      expect(
        existsSync(
          resolve(dirname(composeFile), compose['x-node'].build.context, compose['x-node'].build.dockerfile),
        ),
      ).toBe(true);
    });

    it('runs entry points that exist', () => {
      for (const s of Object.values(services)) {
        const cmd = ((s.command ?? []) as string[]).join(' ');
        for (const [, path] of cmd.matchAll(/(?:\/app\/|tsx )([\w/.-]+\.ts)/g))
          expect([path, existsSync(join(REPO, path!))]).toEqual([path, true]);
      }
    });

    it('gives each sidecar a node the xds-server maps to its service, and a valid bootstrap', () => {
      const sidecars = Object.entries(services).filter(([, s]) =>
        String(s.image).startsWith('envoyproxy/envoy:'),
      );
      expect(sidecars.map(([n]) => n).sort()).toEqual(mesh.services.map((s) => `${s.name}-sidecar`).sort());
      for (const [name, s] of sidecars) {
        const app = name.replace(/-sidecar$/, '');
        expect(s.network_mode).toBe(`service:${app}`);
        const override = parse(
          (s.command as string[])[(s.command as string[]).indexOf('--config-yaml') + 1]!,
        ) as Json;
        const node = {
          ...bootstrap!.node,
          ...override.node,
          metadata: { ...bootstrap!.node.metadata, ...override.node.metadata },
        };
        checkEnvoy(BOOTSTRAP, { ...bootstrap, node }, `${name} bootstrap`);
        expect(groupOf(node)).toBe(app);
        expect(fleet.has(app)).toBe(true);
      }
    });

    it('starts each subscriber on the port and path its Subscription delivers to', () => {
      for (const sub of mesh.subscriptions) {
        const cmd = (services[sub.service]!.command as string[]).join(' ');
        const port = mesh.services.find((s) => s.name === sub.service)!.endpoints[0]!.port;
        expect(cmd).toContain(`startEventLogger('${sub.service}', ${port}, '${sub.delivery.path}')`);
      }
    });

    it('uses the bank example EventRoute and Subscriptions unchanged', () => {
      expect(mesh.eventRoutes.map(({ name, service, rule }) => ({ name, service, rule }))).toEqual(
        bank.eventRoutes.map(({ name, service, rule }) => ({ name, service, rule })),
      );
      expect(mesh.subscriptions).toEqual(bank.subscriptions);
    });

    it('points the bridge at the xds-server for its subscriptions', () => {
      const grpc = String(services['sidecast-xds']!.environment.SIDECAST_XDS_GRPC).split(':').pop();
      expect(services.bridge!.environment.SIDECAST_XDS_SERVER).toBe(`sidecast-xds:${grpc}`);
    });

    it('bridge.yaml is a valid broker-bridge config listening on the compose network', () => {
      const cfg = configFromObject(
        parse(readFileSync(join(CONFIGS, 'compose/bridge.yaml'), 'utf8')),
        'bridge.yaml',
        '/data',
      );
      expect(cfg.broker.url).toBe('nats://nats:4222');
      expect(cfg.http).toMatchObject({ host: '0.0.0.0', port: mesh.mesh.bridge.port });
    });
  });
});

/** Consistency inside one group, like go-control-plane's Consistent(): every reference resolves. */
function references(fleet: FleetResources, group: string): string[] {
  const types = fleet.get(group)!;
  const names = (t: string) => new Set(types.get(t)?.keys() ?? []);
  const decoded = (t: string) =>
    [...(types.get(t) ?? new Map<string, Uint8Array>())].map(
      ([n, b]) => [n, envoyChecker().decode(t.split('/')[1]!, b, `${group} ${n}`) as Json] as const,
    );
  const missing: string[] = [];
  const need = (set: Set<string>, name: string, what: string) =>
    set.has(name) || missing.push(`${what} ${name}`);
  for (const [, l] of decoded(TYPE.listener)) {
    const hcms = l.api_listener
      ? [l.api_listener.api_listener]
      : l.filter_chains.flatMap((c: Json) => c.filters.map((f: Json) => f.typed_config));
    for (const hcm of hcms) {
      need(names(TYPE.route), hcm.rds.route_config_name, 'route config');
      for (const f of hcm.http_filters)
        if (f.config_discovery) need(names(TYPE.extensionConfig), f.name, 'ECDS resource');
    }
  }
  for (const [, r] of decoded(TYPE.route))
    for (const vh of r.virtual_hosts)
      for (const route of vh.routes) need(names(TYPE.cluster), route.route.cluster, 'cluster');
  for (const [n, c] of decoded(TYPE.cluster))
    if (c.type === 'EDS') need(names(TYPE.endpoint), n, 'load assignment');
  for (const [, e] of decoded(TYPE.extensionConfig))
    need(
      names(TYPE.cluster),
      JSON.parse(e.typed_config.config.configuration.value).bridge.cluster,
      'bridge cluster',
    );
  return missing;
}

describe('xds-server output for the bank mesh (test/fixtures/bank-mesh.yaml)', () => {
  const fleet = translate(bank);

  it('every Envoy resource passes the strict checker after a round trip through its bytes', () => {
    let checked = 0;
    for (const [group, types] of fleet)
      for (const [type, byName] of types) {
        if (!Object.values(TYPE).includes(type as never)) continue; // sidecast.v1.Subscription: test/xds-mesh
        for (const [name, bytes] of byName) {
          const json = envoyChecker().decode(type.split('/')[1]!, bytes, `${group} ${name}`);
          expect(Buffer.from(envoyChecker().encode(type.split('/')[1]!, json, `${group} ${name}`))).toEqual(
            Buffer.from(bytes),
          );
          checked++;
        }
      }
    expect(checked).toBe(36);
  });

  it('every reference inside a group resolves (routes, clusters, endpoints, ECDS, bridge)', () => {
    for (const group of fleet.keys())
      if (group !== 'sidecast-bridge') expect([group, references(fleet, group)]).toEqual([group, []]);
  });

  it('the ECDS emitter JSON of every service passes the emitter schema', () => {
    for (const s of bank.services) {
      const json = bankEmitter(s.name);
      expect([s.name, emitterSchema(json) ? [] : emitterSchema.errors]).toEqual([s.name, []]);
    }
  });
});

describe('the strict checker catches what Envoy would NACK', () => {
  const [bootstrap] = documents(join(CONFIGS, 'static-emitter.yaml'));
  const errorOf = (mutate: (b: Json) => void): ProtoCheckError => {
    const b = structuredClone(bootstrap!);
    mutate(b);
    try {
      envoyChecker().encode(BOOTSTRAP, b, 'static-emitter.yaml');
    } catch (e) {
      if (e instanceof ProtoCheckError) return e;
      throw e;
    }
    throw new Error('expected a ProtoCheckError');
  };
  const hcm = (b: Json) => b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;

  it('a typo names its path and suggests the field', () => {
    const e = errorOf((b) => {
      b.static_resources.clusters[1].conect_timeout = b.static_resources.clusters[1].connect_timeout;
    });
    expect(e.message).toContain('static-emitter.yaml');
    expect(e.issues).toEqual([
      {
        path: 'static_resources.clusters[1].conect_timeout',
        reason: expect.stringContaining('did you mean "connect_timeout"'),
      },
    ]);
  });

  it('a typo inside an Any names the Any type on the path', () => {
    const e = errorOf((b) => {
      hcm(b).stat_prefx = 'x';
    });
    expect(e.issues[0]!.path).toBe(
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config(envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager).stat_prefx',
    );
  });

  it('a typo two Anys deep (wasm config inside the HCM) is found too', () => {
    const e = errorOf((b) => {
      hcm(b).http_filters[0].typed_config.config.fail_opne = true;
    });
    expect(e.issues[0]!.path).toMatch(
      /typed_config\(envoy\.extensions\.filters\.http\.wasm\.v3\.Wasm\)\.config\.fail_opne$/,
    );
  });

  it('mistyped values, bad enums, bad durations, unknown @type, PGV rules', () => {
    const e = errorOf((b) => {
      b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value =
        'http';
      b.static_resources.clusters[0].type = 'STATICK';
      b.static_resources.clusters[1].connect_timeout = '1 second';
      hcm(b).http_filters[1].typed_config['@type'] =
        'type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr';
      b.static_resources.listeners[0].name = 7;
      delete b.static_resources.clusters[1].name;
    });
    const byPath = Object.fromEntries(e.issues.map((i) => [i.path, i.reason]));
    expect(byPath).toEqual({
      'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value':
        'expected uint32, got "http"',
      'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address':
        'one of port_value, named_port is required',
      'static_resources.clusters[0].type': expect.stringContaining(
        'invalid envoy.config.cluster.v3.Cluster.DiscoveryType value "STATICK"',
      ),
      'static_resources.clusters[1].connect_timeout': 'expected a duration like "1.5s", got "1 second"',
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config(envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager).http_filters[1].typed_config':
        expect.stringContaining('not known'),
      'static_resources.listeners[0].name': 'expected a string, got 7',
      'static_resources.clusters[1].name': 'must not be empty',
    });
  });

  it('an Istio WasmPlugin with a typo or a wrong enum fails its shape check', () => {
    const [p] = documents(join(CONFIGS, 'istio/wasmplugin-event-emitter.yaml'));
    const check = new Ajv({ allErrors: true, strict: false }).compile(ISTIO_SCHEMAS.WasmPlugin!);
    const bad = structuredClone(p!);
    bad.spec.failStratgy = bad.spec.failStrategy;
    bad.spec.phase = 'STAT';
    expect(check(bad)).toBe(false);
    expect(check.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          '/spec must NOT have additional properties {"additionalProperty":"failStratgy"}',
        ),
        expect.stringContaining('/spec/phase must be equal to one of the allowed values'),
      ]),
    );
  });
});
