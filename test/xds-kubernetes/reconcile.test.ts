// The controller's reconcile logic, driven with plain objects as the informers would deliver them:
// CRs and EndpointSlices in → mesh model and xDS resources, status patches and WasmPlugins out.
import { describe, expect, it } from '@jest/globals';
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import { decodeSubscription, SUBSCRIPTION_TYPE_URL } from '../../proto/sidecast.js';
import { statusPatch } from '../../xds-server/kubernetes/conditions.js';
import { keyOf, type KubeObject } from '../../xds-server/kubernetes/objects.js';
import { MeshReconciler, ReconcileError, type ClusterState } from '../../xds-server/kubernetes/reconcile.js';
import {
  BRIDGE_GROUP,
  emitterResourceName,
  MeshConfigError,
  parseMesh,
  type FleetResources,
} from '../../xds-server/mesh/index.js';
import { validateObject } from '../deploy/k8s-schemas.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- decoded resources

const MESH_FILE = {
  file: '/etc/sidecast/mesh.yaml',
  text: 'apiVersion: sidecast.io/v1alpha1\nkind: Mesh\nmetadata: { name: bank }\nspec:\n  bridge: { address: sidecast-bridge.sidecast.svc.cluster.local, port: 8090 }\n',
};
const ISTIO = {
  wasmUrl: `oci://registry.local:5000/sidecast/event-emitter@sha256:${'b'.repeat(64)}`,
  bridgeCluster: 'outbound|8090||sidecast-bridge.sidecast.svc.cluster.local',
};

let uid = 0;
const cr = (kind: string, name: string, spec: unknown, generation = 1, namespace = 'bank'): KubeObject => ({
  apiVersion: 'sidecast.io/v1alpha1',
  kind,
  metadata: { name, namespace, generation, uid: `uid-${name}-${++uid}`, resourceVersion: String(uid) },
  spec,
});
const accounts = cr('MeshService', 'accounts', {});
const audit = cr('MeshService', 'audit', { endpoints: ['10.0.9.9:8083'] });
const opened = (topic = 'acme/bank/account/opened/v1', generation = 1) =>
  cr(
    'EventRoute',
    'account-opened',
    {
      service: 'accounts',
      match: { method: 'POST', path: '/accounts', status: [201] },
      event: { type: 'acme.bank.account.opened.v1', topic },
    },
    generation,
  );
const closedRoute = cr('EventRoute', 'account-closed', {
  service: 'accounts',
  match: { method: 'DELETE', path: '/accounts/{id}', status: ['2xx'] },
  event: { type: 'acme.bank.account.closed.v1', topic: 'acme/bank/account/closed/v1', subject: '{path.id}' },
});
const auditSub = cr('Subscription', 'audit-all', {
  service: 'audit',
  topics: ['acme/bank/>'],
  delivery: { path: '/events' },
});
const slice: KubeObject = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'accounts-x1', namespace: 'bank', labels: { 'kubernetes.io/service-name': 'accounts' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8081 }],
  endpoints: [
    { addresses: ['10.0.1.5'], conditions: { ready: true } },
    { addresses: ['10.0.1.6'], conditions: { ready: false } },
    { addresses: ['10.0.1.7'] },
  ],
};
const kubeService: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'accounts', namespace: 'bank' },
  spec: { selector: { app: 'accounts', tier: 'api' } },
};

const state = (objs: KubeObject[], extra: Partial<ClusterState> = {}): ClusterState => ({
  base: [MESH_FILE],
  resources: new Map(objs.map((o) => [keyOf(o.kind!, o), o])),
  endpointSlices: [slice],
  services: [kubeService],
  ...extra,
});
const decode = (fleet: FleetResources, group: string, type: string, name: string): Json =>
  envoyChecker().decode(type.split('/')[1]!, fleet.get(group)!.get(type)!.get(name)!, name);
const ecdsJson = (fleet: FleetResources, service: string): Json =>
  JSON.parse(
    decode(fleet, service, TYPE.extensionConfig, emitterResourceName(service)).typed_config.config
      .configuration.value,
  );

describe('kubernetes mesh source: reconcile', () => {
  it('builds the mesh from CRs, with endpoints from ready EndpointSlice addresses where none are listed', () => {
    const r = new MeshReconciler().reconcile(state([accounts, audit, opened(), auditSub]));
    expect(r.config.services.map((s) => [s.name, s.endpoints])).toEqual([
      [
        'accounts',
        [
          { host: '10.0.1.5', port: 8081 },
          { host: '10.0.1.7', port: 8081 },
        ],
      ],
      ['audit', [{ host: '10.0.9.9', port: 8083 }]],
    ]);
    expect(ecdsJson(r.resources, 'accounts').rules.map((x: Json) => x.name)).toEqual(['account-opened']);
    const sub = decodeSubscription(
      r.resources.get(BRIDGE_GROUP)!.get(SUBSCRIPTION_TYPE_URL)!.get('audit/audit-all')!,
    );
    expect(sub.topics).toEqual(['acme/bank/>']);
    expect([...r.verdicts.values()].every((v) => v.state === 'accepted')).toBe(true);
  });

  it('gives a bad CR the same field-level messages as the file source, and serves everything else', () => {
    const bad = cr('EventRoute', 'bad-topic', {
      service: 'accounts',
      match: { path: '/x', method: 'post' },
      event: { type: 't', topic: 'acme//x' },
    });
    const r = new MeshReconciler().reconcile(state([accounts, audit, opened(), bad]));
    const verdict = r.verdicts.get(keyOf('EventRoute', bad))!;
    expect(verdict).toMatchObject({ state: 'rejected', servingGeneration: undefined });

    // The same document in a mesh file: the messages must be the ones the CR gets.
    const asFile = `${MESH_FILE.text}---\napiVersion: sidecast.io/v1alpha1\nkind: MeshService\nmetadata: { name: accounts }\nspec: { endpoints: ["10.0.0.1:1"] }\n---\napiVersion: sidecast.io/v1alpha1\nkind: EventRoute\nmetadata: { name: bad-topic }\nspec: ${JSON.stringify(bad.spec)}\n`;
    let fileMessages: string[] = [];
    try {
      parseMesh([{ file: 'm.yaml', text: asFile }]);
    } catch (e) {
      fileMessages = (e as MeshConfigError).issues.map((i) => `${i.field}: ${i.message}`);
    }
    expect(fileMessages).toEqual([
      'spec.match.method: must be one of the allowed forms (see docs/mesh-config.md)',
    ]);
    expect(verdict.state === 'rejected' && verdict.problems).toEqual(fileMessages);
    expect(r.config.eventRoutes.map((e) => e.name)).toEqual(['account-opened']);

    const patch = statusPatch(bad, verdict, new Date('2026-01-01T00:00:00Z'))!;
    expect(patch.status.conditions).toEqual([
      expect.objectContaining({
        type: 'Accepted',
        status: 'False',
        reason: 'Invalid',
        message: fileMessages[0],
        observedGeneration: 1,
      }),
      expect.objectContaining({ type: 'Ready', status: 'False', reason: 'NotServing' }),
    ]);
  });

  it('a bad edit keeps the last accepted generation serving (Accepted=False, Ready=True)', () => {
    const rec = new MeshReconciler();
    rec.reconcile(state([accounts, opened()]));
    const edited = opened('acme/bank/{path.nope}/v1', 2);
    const r = rec.reconcile(state([accounts, edited]));
    expect(r.config.eventRoutes[0]!.rule.event.topic).toBe('acme/bank/account/opened/v1');
    const v = r.verdicts.get(keyOf('EventRoute', edited))!;
    expect(v).toEqual({
      state: 'rejected',
      problems: ['spec.event.topic: {path.nope} is not a parameter of match.path /accounts'],
      servingGeneration: 1,
    });
    const patch = statusPatch(edited, v, new Date())!;
    expect(patch.status.observedGeneration).toBe(2);
    expect(patch.status.conditions[1]).toMatchObject({
      type: 'Ready',
      status: 'True',
      reason: 'ServingLastAccepted',
    });

    // The fix rolls forward.
    const fixed = opened('acme/bank/account/opened/v2', 3);
    const r2 = rec.reconcile(state([accounts, fixed]));
    expect(r2.config.eventRoutes[0]!.rule.event.topic).toBe('acme/bank/account/opened/v2');
    expect(r2.verdicts.get(keyOf('EventRoute', fixed))!.state).toBe('accepted');
  });

  it('drops what depends on a rejected object and says why', () => {
    const badService = cr('MeshService', 'accounts', { endpoints: ['no-port'] });
    const r = new MeshReconciler().reconcile(state([badService, audit, opened(), auditSub]));
    expect(r.config.services.map((s) => s.name)).toEqual(['audit']);
    expect(r.verdicts.get(keyOf('EventRoute', opened()))).toEqual({
      state: 'rejected',
      problems: ['spec.service: service "accounts" is not defined by any Service document'],
      servingGeneration: undefined,
    });
    expect(r.verdicts.get(keyOf('Subscription', auditSub))!.state).toBe('accepted');
  });

  it('a delete removes the object from the mesh; a name clash across namespaces rejects the second', () => {
    const rec = new MeshReconciler();
    expect(rec.reconcile(state([accounts, opened(), closedRoute])).config.eventRoutes).toHaveLength(2);
    expect(rec.reconcile(state([accounts, closedRoute])).config.eventRoutes.map((e) => e.name)).toEqual([
      'account-closed',
    ]);
    const twin = cr('EventRoute', 'account-closed', closedRoute.spec, 1, 'shop');
    const r = rec.reconcile(state([accounts, closedRoute, twin]));
    expect(r.verdicts.get(keyOf('EventRoute', twin))).toMatchObject({
      state: 'rejected',
      problems: [
        expect.stringMatching(
          /^metadata.name: duplicate EventRoute "account-closed" \(first defined in EventRoute\/bank\/account-closed/,
        ),
      ],
    });
  });

  it("a problem in the mesh file itself is no CR's fault: the reconcile fails and the caller keeps the last mesh", () => {
    const broken = { file: MESH_FILE.file, text: MESH_FILE.text.replace('port: 8090', 'port: "8090"') };
    expect(() => new MeshReconciler().reconcile(state([accounts], { base: [broken] }))).toThrow(
      ReconcileError,
    );
  });

  it('status patches are idempotent and keep lastTransitionTime while the status holds', () => {
    const r = new MeshReconciler().reconcile(state([accounts, opened()]));
    const obj = opened();
    const v = r.verdicts.get(keyOf('EventRoute', obj))!;
    const first = statusPatch(obj, v, new Date('2026-01-01T00:00:00Z'))!;
    const written = { ...obj, status: first.status };
    expect(statusPatch(written, v, new Date('2026-01-02T00:00:00Z'))).toBeUndefined();
    const next = statusPatch(
      { ...written, metadata: { ...written.metadata, generation: 2 } },
      v,
      new Date('2026-01-03T00:00:00Z'),
    )!;
    expect(next.status.conditions[0]!.lastTransitionTime).toBe('2026-01-01T00:00:00.000Z');
    expect(next.status.observedGeneration).toBe(2);
  });
});

describe('kubernetes mesh source: Istio WasmPlugins', () => {
  it('renders one schema-valid WasmPlugin per service with routes: selector, ECDS JSON, digest URL, FAIL_OPEN, inbound, owners', () => {
    const r = new MeshReconciler(ISTIO).reconcile(state([accounts, audit, opened(), closedRoute, auditSub]));
    expect(r.wasmPlugins).toHaveLength(1);
    const wp = r.wasmPlugins[0]! as Json;
    validateObject(wp);
    expect(wp.metadata).toMatchObject({ name: 'sidecast-emitter-accounts', namespace: 'bank' });
    expect(wp.spec).toMatchObject({
      selector: { matchLabels: { app: 'accounts', tier: 'api' } },
      url: ISTIO.wasmUrl,
      failStrategy: 'FAIL_OPEN',
      match: [{ mode: 'SERVER' }],
      pluginName: 'event-emitter',
    });
    // One translation, two outputs: pluginConfig is the ECDS JSON, bar the bridge's cluster name.
    const ecds = ecdsJson(r.resources, 'accounts');
    expect(wp.spec.pluginConfig).toEqual({
      ...ecds,
      bridge: { ...ecds.bridge, cluster: ISTIO.bridgeCluster },
    });
    expect(wp.metadata.ownerReferences.map((o: Json) => o.name).sort()).toEqual([
      'account-closed',
      'account-opened',
    ]);
  });

  it('an EventRoute edit changes the plugin config; deleting the last route deletes the plugin', () => {
    const rec = new MeshReconciler(ISTIO);
    const before = rec.reconcile(state([accounts, opened()])).wasmPlugins[0]! as Json;
    const after = rec.reconcile(state([accounts, opened('acme/bank/account/created/v1', 2)]))
      .wasmPlugins[0]! as Json;
    expect(before.spec.pluginConfig.rules[0].event.topic).toBe('acme/bank/account/opened/v1');
    expect(after.spec.pluginConfig.rules[0].event.topic).toBe('acme/bank/account/created/v1');
    expect(rec.reconcile(state([accounts])).wasmPlugins).toEqual([]);
  });

  it('falls back to app=<service> when no Kubernetes Service selects the pods', () => {
    const r = new MeshReconciler(ISTIO).reconcile(state([accounts, opened()], { services: [] }));
    expect((r.wasmPlugins[0] as Json).spec.selector).toEqual({ matchLabels: { app: 'accounts' } });
  });
});
