// The kubernetes mesh source against a real API server (k3s via @testcontainers/k3s): the
// rendered manifests are accepted (server-side dry run), CRs created with kubectl-shaped objects
// get status.conditions from exactly one of two controller replicas (Lease), the mesh they produce
// is published, a bad edit keeps the last good route serving, and in Istio mode the WasmPlugin
// follows the EventRoutes. Skips with one line where no container runtime exists.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CoordinationV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { K3sContainer, type StartedK3sContainer } from '@testcontainers/k3s';
import { pino } from 'pino';
import { crds } from '../../deploy/crds.js';
import { renderManifests } from '../../deploy/manifests.js';
import { watchKubernetesMesh } from '../../xds-server/kubernetes/index.js';
import type { MeshConfig } from '../../xds-server/mesh/index.js';
import { containerRuntimeFor } from './container-runtime.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API objects

const K3S_IMAGE = 'rancher/k3s:v1.31.2-k3s1';
const WASM_URL = `oci://registry.local/sidecast/event-emitter@sha256:${'c'.repeat(64)}`;

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

if (await containerRuntimeFor(`Kubernetes controller suite (${K3S_IMAGE})`)) {
  let k3s: StartedK3sContainer;
  let kc: KubeConfig;
  let objects: KubernetesObjectApi;
  let custom: CustomObjectsApi;
  const meshFile = new URL('./fixtures/k8s-mesh.yaml', import.meta.url).pathname;
  const published: MeshConfig[] = [];
  const replicas: { close(): void }[] = [];

  const apply = async (o: Json) => {
    await objects.patch(
      o as KubernetesObject,
      undefined,
      undefined,
      'sidecast-test',
      true,
      PatchStrategy.ServerSideApply,
    );
  };
  const cr = (kind: string, name: string, spec: Json) => ({
    apiVersion: 'sidecast.io/v1alpha1',
    kind,
    metadata: { name, namespace: 'bank' },
    spec,
  });
  const route = (name: string, topic: string) =>
    cr('EventRoute', name, {
      service: 'accounts',
      match: { method: 'POST', path: '/accounts', status: [201] },
      event: { type: 'acme.bank.account.opened.v1', topic },
    });
  const conditions = async (plural: string, name: string): Promise<Json[]> => {
    const o = (await custom.getNamespacedCustomObject({
      group: 'sidecast.io',
      version: 'v1alpha1',
      namespace: 'bank',
      plural,
      name,
    })) as Json;
    return o.status?.conditions ?? [];
  };
  const condition = (list: Json[], type: string) => list.find((c) => c.type === type);

  beforeAll(async () => {
    k3s = await new K3sContainer(K3S_IMAGE).start();
    kc = new KubeConfig();
    kc.loadFromString(k3s.getKubeConfig());
    objects = KubernetesObjectApi.makeApiClient(kc);
    custom = kc.makeApiClient(CustomObjectsApi);
    for (const c of crds()) await apply(c);
    // Istio is not installed in k3s: a schema-less stand-in CRD lets the controller write WasmPlugins.
    await apply({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'wasmplugins.extensions.istio.io' },
      spec: {
        group: 'extensions.istio.io',
        scope: 'Namespaced',
        names: {
          kind: 'WasmPlugin',
          plural: 'wasmplugins',
          singular: 'wasmplugin',
          listKind: 'WasmPluginList',
        },
        versions: [
          {
            name: 'v1alpha1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    });
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bank' } });
    await eventually('CRDs established', async () => {
      const list = await objects.list<Json & KubernetesObject>(
        'apiextensions.k8s.io/v1',
        'CustomResourceDefinition',
      );
      const ours = list.items.filter(
        (c) => c.spec.group === 'sidecast.io' || c.spec.group === 'extensions.istio.io',
      );
      return (
        ours.length === 4 &&
        ours.every((c) =>
          c.status?.conditions?.some((x: Json) => x.type === 'Established' && x.status === 'True'),
        )
      );
    });
    for (const id of ['xds-a', 'xds-b'])
      replicas.push(
        watchKubernetesMesh(
          meshFile,
          {
            namespaces: [],
            identity: id,
            leaseNamespace: 'default',
            leaseName: 'sidecast-xds-status',
            kubeConfig: kc,
            istio: {
              wasmUrl: WASM_URL,
              bridgeCluster: 'outbound|8090||sidecast-bridge.sidecast.svc.cluster.local',
            },
          },
          (_r, _v, config) => id === 'xds-a' && published.push(config),
          () => undefined,
          pino({ level: 'warn' }),
        ),
      );
  }, 240_000);

  afterAll(async () => {
    for (const r of replicas) r.close();
    await k3s?.stop();
  });

  describe('sidecast on Kubernetes (k3s)', () => {
    it('the API server accepts every rendered manifest whose API it serves (server-side dry run)', async () => {
      const served = new Set([
        'v1',
        'apps/v1',
        'policy/v1',
        'networking.k8s.io/v1',
        'rbac.authorization.k8s.io/v1',
        'apiextensions.k8s.io/v1',
      ]);
      for (const o of renderManifests({ producerToken: 'integration-token-0123456789' }) as Json[]) {
        if (!served.has(o.apiVersion)) continue;
        if (o.kind === 'Namespace') await apply(o);
        else
          await objects.patch(
            o as KubernetesObject,
            undefined,
            'All',
            'sidecast-test',
            true,
            PatchStrategy.ServerSideApply,
          );
      }
    });

    it('writes Accepted/Ready on CRs from exactly one replica, publishes the mesh, and keeps the last good route on a bad edit', async () => {
      await apply(cr('MeshService', 'accounts', { endpoints: ['10.0.0.5:8081'] }));
      await apply(route('account-opened', 'acme/bank/account/opened/v1'));
      await apply(
        cr('Subscription', 'audit-all', {
          service: 'accounts',
          topics: ['acme/bank/>'],
          delivery: { path: '/events' },
        }),
      );
      const ok = await eventually('Accepted=True on the route', async () => {
        const c = await conditions('eventroutes', 'account-opened');
        return condition(c, 'Accepted')?.status === 'True' ? c : undefined;
      });
      expect(condition(ok, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'Serving',
        observedGeneration: 1,
      });
      await eventually(
        'the route in the published mesh',
        async () => published.at(-1)?.eventRoutes.some((r) => r.name === 'account-opened') || undefined,
      );

      const lease = await kc
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: 'sidecast-xds-status', namespace: 'default' });
      expect(['xds-a', 'xds-b']).toContain(lease.spec?.holderIdentity);

      await apply(route('account-opened', 'acme/bank/{path.nope}/v1'));
      const bad = await eventually('Accepted=False after the bad edit', async () => {
        const c = await conditions('eventroutes', 'account-opened');
        return condition(c, 'Accepted')?.status === 'False' ? c : undefined;
      });
      expect(condition(bad, 'Accepted')!.message).toBe(
        'spec.event.topic: {path.nope} is not a parameter of match.path /accounts',
      );
      expect(condition(bad, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'ServingLastAccepted',
        observedGeneration: 2,
      });
      expect(published.at(-1)!.eventRoutes[0]!.rule.event.topic).toBe('acme/bank/account/opened/v1');
    });

    it('Istio mode: a WasmPlugin per service follows its EventRoutes and goes with the last one', async () => {
      await apply(route('account-opened', 'acme/bank/account/created/v1'));
      const plugin = await eventually('the WasmPlugin with the new topic', async () => {
        const wp = (await custom.getNamespacedCustomObject({
          group: 'extensions.istio.io',
          version: 'v1alpha1',
          namespace: 'bank',
          plural: 'wasmplugins',
          name: 'sidecast-emitter-accounts',
        })) as Json;
        return wp.spec.pluginConfig.rules[0].event.topic === 'acme/bank/account/created/v1' ? wp : undefined;
      });
      expect(plugin.spec).toMatchObject({
        url: WASM_URL,
        failStrategy: 'FAIL_OPEN',
        match: [{ mode: 'SERVER' }],
      });
      expect(plugin.metadata.ownerReferences.map((o: Json) => o.name)).toEqual(['account-opened']);

      await custom.deleteNamespacedCustomObject({
        group: 'sidecast.io',
        version: 'v1alpha1',
        namespace: 'bank',
        plural: 'eventroutes',
        name: 'account-opened',
      });
      await eventually('the WasmPlugin deleted', async () => {
        const list = (await custom.listNamespacedCustomObject({
          group: 'extensions.istio.io',
          version: 'v1alpha1',
          namespace: 'bank',
          plural: 'wasmplugins',
        })) as Json;
        return list.items.length === 0 || undefined;
      });
    });
  });
} else {
  describe('sidecast on Kubernetes (k3s)', () => it.skip('no container runtime', () => {}));
}
