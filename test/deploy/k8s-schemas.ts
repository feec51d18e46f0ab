// Validates rendered objects against the real Kubernetes, Istio and prometheus-operator OpenAPI
// schemas shipped by kubernetes-models / @kubernetes-models/*. An object whose kind has no model
// fails: nothing is passed unchecked.
import * as istioExtensions from '@kubernetes-models/istio/extensions.istio.io/v1alpha1';
import * as istioNetworking from '@kubernetes-models/istio/networking.istio.io/v1';
import * as istioSecurity from '@kubernetes-models/istio/security.istio.io/v1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as apiextensions from 'kubernetes-models/apiextensions.k8s.io/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as coordination from 'kubernetes-models/coordination.k8s.io/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as rbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as core from 'kubernetes-models/v1';

type ModelClass = new (data: unknown) => { validate(): void };
const groups: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'apiextensions.k8s.io/v1': apiextensions,
  'coordination.k8s.io/v1': coordination,
  'networking.k8s.io/v1': networking,
  'policy/v1': policy,
  'rbac.authorization.k8s.io/v1': rbac,
  'extensions.istio.io/v1alpha1': istioExtensions,
  'networking.istio.io/v1': istioNetworking,
  'security.istio.io/v1': istioSecurity,
  'monitoring.coreos.com/v1': monitoring,
};

/** Throws with the object's kind/name and the schema errors when it is invalid or unknown. */
export function validateObject(obj: {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
}): void {
  const what = `${obj.apiVersion} ${obj.kind} "${obj.metadata?.name}"`;
  const model = groups[obj.apiVersion ?? '']?.[obj.kind ?? ''] as ModelClass | undefined;
  if (!model) throw new Error(`${what}: no schema to validate it against (test/deploy/k8s-schemas.ts)`);
  try {
    new model(obj).validate();
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}
