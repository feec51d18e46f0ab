// Every rendered object is valid against the real Kubernetes/Istio/prometheus-operator schemas, and
// the install holds together: configs load in the services that read them, probes and monitors
// name ports that exist, RBAC grants only what the controller uses, one bridge on one volume.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { configFromObject } from '../../broker-bridge/config.js';
import { manifestsYaml, renderManifests, STATUS_LEASE, type InstallOptions } from '../../deploy/manifests.js';
import { parseMesh } from '../../xds-server/mesh/index.js';
import { validateObject } from './k8s-schemas.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- manifest trees

const TOKEN = 'test-producer-token-0123456789';
const WASM = `oci://registry.example:5000/sidecast/event-emitter@sha256:${'a'.repeat(64)}`;
const VARIANTS: [string, InstallOptions][] = [
  ['envoy', { mode: 'envoy', producerToken: TOKEN }],
  [
    'envoy, two watched namespaces',
    { mode: 'envoy', producerToken: TOKEN, watchNamespaces: ['bank', 'shop'] },
  ],
  ['istio', { mode: 'istio', wasmImage: WASM, namespace: 'sidecast-system', storageClassName: 'fast' }],
];

const find = (objs: Json[], kind: string, name?: string) =>
  objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const one = (objs: Json[], kind: string, name: string): Json => {
  const found = find(objs, kind, name);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe.each(VARIANTS)('sidecast install (%s)', (_name, options) => {
  const objects = renderManifests(options) as Json[];
  const ns = options.namespace ?? 'sidecast';

  it('renders only objects valid against the Kubernetes, Istio and prometheus-operator schemas', () => {
    for (const o of objects) validateObject(o);
    // The YAML stream is what kubectl reads: it must parse back to the same objects.
    const docs = manifestsYaml(objects)
      .split(/^---\n/m)
      .filter(Boolean)
      .map((d) => parse(d));
    expect(docs).toEqual(objects);
  });

  it('puts the namespace and CRDs first, and names every namespaced object in the install namespace', () => {
    expect(objects[0]).toMatchObject({ kind: 'Namespace', metadata: { name: ns } });
    expect(objects.slice(1, 4).map((o) => o.metadata.name)).toEqual([
      'eventroutes.sidecast.io',
      'subscriptions.sidecast.io',
      'meshservices.sidecast.io',
    ]);
    const watched = options.watchNamespaces ?? [];
    for (const o of objects.filter((x) => x.metadata.namespace))
      expect([ns, ...watched]).toContain(o.metadata.namespace);
  });

  it('runs two xds-server replicas, ready on /readyz, and exactly one bridge on its own volume', () => {
    const xds = one(objects, 'Deployment', 'sidecast-xds-server');
    expect(xds.spec.replicas).toBe(2);
    const c = xds.spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-admin' });
    expect(c.ports.map((p: Json) => p.name)).toContain('http-admin');

    const bridge = one(objects, 'StatefulSet', 'sidecast-bridge');
    expect(bridge.spec.replicas).toBe(1);
    expect(bridge.spec.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
    const mounts = bridge.spec.template.spec.containers[0].volumeMounts.map((m: Json) => m.name);
    expect(mounts).toContain('data');
    expect(find(objects, 'Deployment').map((d) => d.metadata.name)).toEqual(['sidecast-xds-server']);
  });

  it('runs both containers non-root from one image with two entrypoints', () => {
    const pods = [
      one(objects, 'Deployment', 'sidecast-xds-server'),
      one(objects, 'StatefulSet', 'sidecast-bridge'),
    ].map((w) => w.spec.template.spec);
    expect(new Set(pods.map((p) => p.containers[0].image)).size).toBe(1);
    expect(pods.map((p) => p.containers[0].args)).toEqual([['xds-server'], ['bridge']]);
    for (const p of pods) {
      expect(p.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
      expect(p.containers[0].securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    }
  });

  it('gives each Service a selector that matches a workload and ports that exist on it', () => {
    const workloads = [...find(objects, 'Deployment'), ...find(objects, 'StatefulSet')];
    for (const svc of find(objects, 'Service')) {
      const target = workloads.find((w) =>
        Object.entries(svc.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
      );
      expect(target).toBeDefined();
      const names = target!.spec.template.spec.containers[0].ports.map((p: Json) => p.name);
      for (const p of svc.spec.ports) expect(names).toContain(p.targetPort);
    }
    const monitor = find(objects, 'ServiceMonitor')[0]!;
    const scraped = find(objects, 'Service').filter((s) =>
      s.spec.ports.some((p: Json) => p.name === monitor.spec.endpoints[0].port),
    );
    expect(scraped.map((s) => s.metadata.name).sort()).toEqual(['sidecast-bridge', 'sidecast-xds-server']);
  });

  it('grants the controller only reads, status patches, its Lease and (Istio) WasmPlugins; the bridge nothing', () => {
    const roles = [...find(objects, 'ClusterRole'), ...find(objects, 'Role')];
    const rules = roles.flatMap((r) => r.rules as Json[]);
    for (const rule of rules) {
      expect(rule.verbs).not.toContain('*');
      expect(rule.resources).not.toContain('*');
      expect(rule.resources).not.toContain('secrets');
    }
    const writes = rules.filter((r) => r.verbs.some((v: string) => !['get', 'list', 'watch'].includes(v)));
    const written = writes.flatMap((r) => r.resources as string[]).sort();
    const expected = [
      'eventroutes/status',
      'leases',
      'leases',
      'meshservices/status',
      'subscriptions/status',
    ];
    if (options.mode === 'istio') expected.push('wasmplugins');
    const perScope = options.watchNamespaces?.length ?? 1;
    expect(written).toEqual(expected.flatMap((r) => (r === 'leases' ? [r] : Array(perScope).fill(r))).sort());
    const lease = rules.find((r) => r.resourceNames);
    expect(lease).toMatchObject({
      resources: ['leases'],
      resourceNames: [STATUS_LEASE],
      verbs: ['get', 'update'],
    });
    if (options.watchNamespaces?.length) expect(find(objects, 'ClusterRole')).toEqual([]);
    const bindings = [...find(objects, 'RoleBinding'), ...find(objects, 'ClusterRoleBinding')];
    expect(bindings.flatMap((b) => b.subjects.map((s: Json) => s.name))).not.toContain('sidecast-bridge');
    expect(one(objects, 'ServiceAccount', 'sidecast-bridge').automountServiceAccountToken).toBe(false);
  });

  it('ships configs that the xds-server and the bridge load as they are', () => {
    const secret = one(objects, 'Secret', 'sidecast-config');
    const mesh = parseMesh([{ file: 'mesh.yaml', text: secret.stringData['mesh.yaml'] }]);
    expect(mesh.mesh.bridge).toMatchObject({ host: `sidecast-bridge.${ns}.svc.cluster.local`, port: 8090 });
    const bridge = configFromObject(parse(secret.stringData['bridge.yaml']), 'bridge.yaml', '/');
    expect(bridge.http).toMatchObject({ host: '0.0.0.0', port: 8090 });
    expect(bridge.broker.url).toBe('embedded:///var/lib/sidecast/broker');
    if (options.mode === 'istio')
      expect(bridge.auth.forwardedClientCert).toEqual({
        trust: true,
        by: [`spiffe://cluster.local/ns/${ns}/sa/sidecast-bridge`],
      });
    if (options.mode === 'envoy') {
      expect(mesh.mesh.bridge.token).toBe(TOKEN);
      expect(bridge.auth.producers[0]!.tokens).toEqual([TOKEN]);
      expect(bridge.auth.forwardedClientCert).toBeUndefined();
    }
  });
});

describe('sidecast install options', () => {
  it('refuses Istio mode without an emitter image pinned by digest', () => {
    expect(() =>
      renderManifests({ mode: 'istio', wasmImage: 'oci://ghcr.io/x/event-emitter:0.1.0' }),
    ).toThrow(/pinned by digest.*sidecast image push/);
  });

  it('refuses envoy mode without a producer token', () => {
    expect(() => renderManifests({ mode: 'envoy' })).toThrow(/--producer-token/);
  });

  it('adds the Istio resources that make the forwarded identity trustworthy only in Istio mode', () => {
    const istio = renderManifests({ mode: 'istio', wasmImage: WASM }) as Json[];
    const peer = one(istio, 'PeerAuthentication', 'sidecast-bridge');
    expect(peer.spec.mtls.mode).toBe('STRICT');
    const authz = one(istio, 'AuthorizationPolicy', 'sidecast-bridge');
    expect(authz.spec.rules[0]).toMatchObject({
      from: [{ source: { principals: ['*'] } }],
      to: [{ operation: { ports: ['8090'], paths: ['/v1/events'] } }],
    });
    const envoy = renderManifests({ mode: 'envoy', producerToken: TOKEN }) as Json[];
    expect(envoy.filter((o) => String(o.apiVersion).includes('istio.io'))).toEqual([]);
  });
});

describe('deploy/Dockerfile', () => {
  const text = readFileSync(new URL('../../deploy/Dockerfile', import.meta.url), 'utf8');
  const lines = text.split('\n').filter((l) => /^[A-Z]+ /.test(l));

  it('is multi-stage and runs as the non-root user the manifests expect, with `sidecast` as entrypoint', () => {
    const stages = lines.filter((l) => l.startsWith('FROM '));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const final = lines.slice(lines.lastIndexOf(stages.at(-1)!));
    const user = final.filter((l) => l.startsWith('USER ')).at(-1);
    const pod = (renderManifests({ producerToken: TOKEN }) as Json[]).find((o) => o.kind === 'Deployment')!
      .spec.template.spec.securityContext;
    expect(user).toBe(`USER ${pod.runAsUser}:${pod.runAsGroup}`);
    expect(final).toContain('ENTRYPOINT ["sidecast"]');
    // Compiled JS only: the runtime stage installs the packed package, never the sources or tsx.
    expect(final.join('\n')).not.toMatch(/\btsx\b|COPY \. /);
  });
});
