// Custom resources in, mesh out — pure. Each CR goes through the same checks as a document of a
// mesh file (checkDocument → buildModel → translate), and its problems come back as its own
// field-level messages. A CR whose newest spec fails keeps serving its last accepted version
// (Accepted=False, Ready=True "ServingLastAccepted"); one that never passed is left out, and so is
// whatever then no longer checks (a route of a dropped service). Other tenants' CRs are untouched.
import {
  checkDocument,
  fieldPath,
  readDocuments,
  type MeshDocument,
  type MeshSource,
} from '../mesh/documents.js';
import { buildModel } from '../mesh/model.js';
import { translate } from '../mesh/translate.js';
import { MeshConfigError, type FleetResources, type MeshConfig, type MeshIssue } from '../mesh/types.js';
import { resourcesVersion } from '../mesh/watch.js';
import type { Verdict } from './conditions.js';
import { endpointsFromSlices } from './endpoints.js';
import {
  CUSTOM_RESOURCES,
  EVENT_ROUTES,
  MESH_SERVICES,
  type KubeObject,
  type OwnerReference,
} from './objects.js';
import { wasmPlugins, type IstioOptions } from './wasmplugin.js';

/** What the informers hold right now, plus the mesh file(s) given with --mesh. */
export interface ClusterState {
  /** Mesh settings (and Services of workloads outside the cluster); their problems are no CR's and stop the reconcile. */
  base: MeshSource[];
  /** Our custom resources by key (objects.keyOf). */
  resources: Map<string, KubeObject>;
  endpointSlices: KubeObject[];
  services: KubeObject[];
}

export interface Reconciled {
  config: MeshConfig;
  resources: FleetResources;
  version: string;
  /** Verdict per current CR key. */
  verdicts: Map<string, Verdict>;
  /** Istio mode: the WasmPlugins that should exist. */
  wasmPlugins: KubeObject[];
}

export class ReconcileError extends Error {
  override name = 'ReconcileError';
}

const kindOfKey = (key: string) => key.slice(0, key.indexOf('/'));
const issueText = (i: MeshIssue) => (i.field ? `${i.field}: ${i.message}` : i.message);

export class MeshReconciler {
  /** key → the version of the object that is being served. */
  private served = new Map<string, KubeObject>();

  constructor(private readonly istio?: IstioOptions) {}

  /** Throws ReconcileError when no mesh can be built (bad base file); the caller keeps the last one. */
  reconcile(state: ClusterState): Reconciled {
    const baseIssues: MeshIssue[] = [];
    const baseDocs = readDocuments(state.base, baseIssues);
    if (baseIssues.length)
      throw new ReconcileError(baseIssues.map((i) => `${i.file}: ${issueText(i)}`).join('; '));

    const current = new Map([...state.resources].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const chosen = new Map(current);
    const rejected = new Map<string, string[]>();
    const endpointsOf = (d: MeshDocument) => {
      const obj = chosen.get(d.file);
      return obj
        ? endpointsFromSlices(state.endpointSlices, obj.metadata.namespace ?? '', obj.metadata.name)
        : [];
    };

    for (;;) {
      const issues: MeshIssue[] = [];
      const docs = [...baseDocs];
      for (const [key, obj] of chosen) {
        // A CR must not make the controller read files of its own container (its token, say).
        if (
          (obj.spec as { event?: { dataSchemaFile?: unknown } } | undefined)?.event?.dataSchemaFile !==
          undefined
        ) {
          issues.push(
            problemAt(key)(
              ['spec', 'event', 'dataSchemaFile'],
              'not available in custom resources (the controller reads no files named by CRs); give the schema inline as dataSchema',
            ),
          );
          continue;
        }
        const d = checkDocument(envelope(kindOfKey(key), obj), key, 0, problemAt(key), issues);
        if (d) docs.push(d);
      }
      const files = [...state.base.map((b) => b.file), ...chosen.keys()];
      let config: MeshConfig | undefined = buildModel(docs, files, issues, { endpointsOf });
      let resources: FleetResources | undefined;
      if (issues.length === 0) {
        try {
          resources = translate(config);
        } catch (e) {
          if (!(e instanceof MeshConfigError))
            throw new ReconcileError(`translation failed: ${(e as Error).message}`);
          issues.push(...e.issues);
          config = undefined;
        }
      }
      if (issues.length === 0 && config && resources) {
        this.served = new Map(chosen);
        return {
          config,
          resources,
          version: resourcesVersion(resources),
          verdicts: this.verdicts(current, chosen, rejected, resourcesVersion(resources)),
          wasmPlugins: this.istio
            ? wasmPlugins(config, (s) => this.placement(s, chosen, state), this.istio)
            : [],
        };
      }
      const blamed = new Map<string, string[]>();
      for (const i of issues) {
        if (!chosen.has(i.file))
          throw new ReconcileError(`${i.file}: ${issueText(i)} (not attributable to a custom resource)`);
        blamed.set(i.file, [...(blamed.get(i.file) ?? []), issueText(i)]);
      }
      for (const [key, problems] of blamed) {
        const now = current.get(key);
        if (!rejected.has(key)) rejected.set(key, problems); // the newest spec's own problems
        const fallback = this.served.get(key);
        if (chosen.get(key) === now && fallback && fallback !== now) chosen.set(key, fallback);
        else chosen.delete(key);
      }
    }
  }

  private verdicts(
    current: Map<string, KubeObject>,
    chosen: Map<string, KubeObject>,
    rejected: Map<string, string[]>,
    meshVersion: string,
  ): Map<string, Verdict> {
    const out = new Map<string, Verdict>();
    for (const key of current.keys()) {
      const problems = rejected.get(key);
      const serving = chosen.get(key);
      if (!problems) out.set(key, { state: 'accepted', meshVersion });
      else
        out.set(key, {
          state: 'rejected',
          problems,
          servingGeneration: serving ? (serving.metadata.generation ?? 0) : undefined,
        });
    }
    return out;
  }

  /** Where a service's WasmPlugin goes: its MeshService's namespace, its Kubernetes Service's selector. */
  private placement(service: string, chosen: Map<string, KubeObject>, state: ClusterState) {
    const meshService = [...chosen].find(
      ([k, o]) => kindOfKey(k) === MESH_SERVICES.kind && o.metadata.name === service,
    )?.[1];
    const namespace = meshService?.metadata.namespace;
    if (!namespace) return undefined; // defined in the mesh file: not a Kubernetes workload
    const kube = state.services.find(
      (s) => s.metadata.namespace === namespace && s.metadata.name === service,
    );
    const selector = (kube?.spec as { selector?: Record<string, string> } | undefined)?.selector ?? {
      app: service,
    };
    const owners: OwnerReference[] = [...chosen]
      .filter(
        ([k, o]) =>
          kindOfKey(k) === EVENT_ROUTES.kind && o.metadata.namespace === namespace && o.metadata.uid,
      )
      .filter(([, o]) => (o.spec as { service?: string }).service === service)
      .map(([, o]) => ({
        apiVersion: EVENT_ROUTES.apiVersion,
        kind: EVENT_ROUTES.kind,
        name: o.metadata.name,
        uid: o.metadata.uid!,
      }));
    return { namespace, selector, owners };
  }
}

/** The part of a CR the mesh loader reads, shaped like a mesh file document. */
function envelope(kind: string, o: KubeObject): unknown {
  const { name, namespace, labels, annotations } = o.metadata;
  return {
    apiVersion: o.apiVersion ?? CUSTOM_RESOURCES.find((t) => t.kind === kind)?.apiVersion,
    kind: o.kind ?? kind,
    metadata: Object.fromEntries(
      Object.entries({ name, namespace, labels, annotations }).filter(([, v]) => v !== undefined),
    ),
    spec: o.spec,
  };
}

function problemAt(key: string) {
  return (path: (string | number)[], message: string, kind?: string, name?: string): MeshIssue => ({
    file: key,
    kind,
    name,
    field: fieldPath(path),
    message,
  });
}
