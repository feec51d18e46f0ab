// status.conditions per the Kubernetes API conventions: Accepted (the spec passed every check)
// and Ready (the object is part of the mesh being served). lastTransitionTime moves only when a
// condition's status changes, and an unchanged status yields no patch, so writing status never
// loops through the watch.
import type { Condition, KubeObject } from './objects.js';

export type Verdict =
  | { state: 'accepted'; meshVersion: string }
  | { state: 'rejected'; problems: string[]; servingGeneration?: number };

export interface StatusPatch {
  status: { observedGeneration?: number; conditions: Condition[] };
}

export function desiredConditions(
  verdict: Verdict,
  generation: number | undefined,
): Omit<Condition, 'lastTransitionTime'>[] {
  const g = generation === undefined ? {} : { observedGeneration: generation };
  if (verdict.state === 'accepted')
    return [
      {
        type: 'Accepted',
        status: 'True',
        reason: 'Accepted',
        message: 'passed every check of the mesh loader',
        ...g,
      },
      {
        type: 'Ready',
        status: 'True',
        reason: 'Serving',
        message: `published in mesh version ${verdict.meshVersion}`,
        ...g,
      },
    ];
  const message = verdict.problems.join('; ').slice(0, 32768);
  return [
    { type: 'Accepted', status: 'False', reason: 'Invalid', message, ...g },
    verdict.servingGeneration !== undefined
      ? {
          type: 'Ready',
          status: 'True',
          reason: 'ServingLastAccepted',
          message: `serving generation ${verdict.servingGeneration}, the last accepted one; fix the spec to roll forward`,
          ...g,
        }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'NotServing',
          message: 'not part of the served mesh until its spec is accepted',
          ...g,
        },
  ];
}

/** The status merge patch that brings `obj` to `verdict`, or undefined when it is already there. */
export function statusPatch(obj: KubeObject, verdict: Verdict, now: Date): StatusPatch | undefined {
  const generation = obj.metadata.generation;
  const current = obj.status?.conditions ?? [];
  let changed = obj.status?.observedGeneration !== generation;
  const conditions = desiredConditions(verdict, generation).map((want): Condition => {
    const had = current.find((c) => c.type === want.type);
    const same =
      had &&
      had.status === want.status &&
      had.reason === want.reason &&
      had.message === want.message &&
      had.observedGeneration === want.observedGeneration;
    if (!same) changed = true;
    const lastTransitionTime = had && had.status === want.status ? had.lastTransitionTime : now.toISOString();
    return { ...want, lastTransitionTime };
  });
  if (!changed) return undefined;
  return { status: { ...(generation === undefined ? {} : { observedGeneration: generation }), conditions } };
}
