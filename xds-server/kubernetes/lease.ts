// Which replica writes status: the holder of a coordination.k8s.io/v1 Lease. This is the decision
// alone (pure: lease as read + clock → what to write); lease-loop.ts does the reads and writes,
// whose optimistic concurrency (resourceVersion) makes two replicas racing for it safe.

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export type LeaseAction =
  | { action: 'create'; spec: LeaseSpec }
  | { action: 'renew'; spec: LeaseSpec }
  | { action: 'takeover'; spec: LeaseSpec }
  | { action: 'wait'; holder: string; expiresAt: Date };

/** What `me` should do about the lease (undefined = it does not exist yet) at `now`. */
export function leaseAction(
  lease: LeaseSpec | undefined,
  me: string,
  now: Date,
  durationSeconds: number,
): LeaseAction {
  const stamp = now.toISOString();
  const mine = (transitions: number, acquireTime: string): LeaseSpec => ({
    holderIdentity: me,
    leaseDurationSeconds: durationSeconds,
    acquireTime,
    renewTime: stamp,
    leaseTransitions: transitions,
  });
  if (!lease) return { action: 'create', spec: mine(0, stamp) };
  if (lease.holderIdentity === me)
    return { action: 'renew', spec: mine(lease.leaseTransitions ?? 0, lease.acquireTime ?? stamp) };
  const renewed = Date.parse(lease.renewTime ?? lease.acquireTime ?? '');
  const expiresAt = new Date(
    (Number.isNaN(renewed) ? 0 : renewed) + (lease.leaseDurationSeconds ?? durationSeconds) * 1000,
  );
  if (lease.holderIdentity && expiresAt > now)
    return { action: 'wait', holder: lease.holderIdentity, expiresAt };
  return { action: 'takeover', spec: mine((lease.leaseTransitions ?? 0) + 1, stamp) };
}

/** Whether `me` may act as leader at `now`, given the lease as last written. */
export function holds(lease: LeaseSpec | undefined, me: string, now: Date): boolean {
  if (!lease || lease.holderIdentity !== me) return false;
  const renewed = Date.parse(lease.renewTime ?? '');
  return !Number.isNaN(renewed) && renewed + (lease.leaseDurationSeconds ?? 0) * 1000 > now.getTime();
}
