// The list-watch store (relist after 410 Gone, bookmarks) and the status-writer election between
// two replicas, as pure decisions over the objects the API server would return.
import { describe, expect, it } from '@jest/globals';
import { holds, leaseAction, type LeaseSpec } from '../../xds-server/kubernetes/lease.js';
import type { KubeObject } from '../../xds-server/kubernetes/objects.js';
import { Backoff, ObjectStore } from '../../xds-server/kubernetes/store.js';

const obj = (name: string, rv: string, namespace = 'bank'): KubeObject => ({
  metadata: { name, namespace, resourceVersion: rv },
});

describe('ObjectStore', () => {
  it('applies watch events, ignores replays of the same resourceVersion, and bookmarks move only the resourceVersion', () => {
    const s = new ObjectStore();
    expect(s.replace([obj('a', '10')], '10')).toBe(true);
    expect(s.event('ADDED', obj('b', '11'))).toBe(true);
    expect(s.event('MODIFIED', obj('b', '11'))).toBe(false);
    expect(s.event('BOOKMARK', { metadata: { name: '', resourceVersion: '15' } })).toBe(false);
    expect(s.resourceVersion).toBe('15');
    expect(s.event('DELETED', obj('a', '16'))).toBe(true);
    expect(s.values().map((o) => o.metadata.name)).toEqual(['b']);
  });

  it('a relist after 410 Gone drops objects deleted while the watch was behind, and reports no change when nothing moved', () => {
    const s = new ObjectStore();
    s.replace([obj('a', '1'), obj('b', '2'), obj('a', '3', 'shop')], '3');
    s.expire();
    expect(s.resourceVersion).toBe(''); // the next round lists
    expect(s.replace([obj('a', '1'), obj('a', '3', 'shop')], '40')).toBe(true);
    expect(s.values().map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['bank/a', 'shop/a']);
    expect(s.replace([obj('a', '1'), obj('a', '3', 'shop')], '41')).toBe(false);
    expect(s.resourceVersion).toBe('41');
  });

  it('backs off exponentially up to a cap and starts over after a success', () => {
    const b = new Backoff(500, 4000);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000, 4000, 4000]);
    b.reset();
    expect(b.next()).toBe(500);
  });
});

describe('status-writer Lease between two replicas', () => {
  /** The lease as the API server stores it: a write wins only against the version it read. */
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

  it('one replica holds it, the other waits; when the holder stops renewing, the other takes over', () => {
    let lease: LeaseSpec | undefined;
    const step = (me: string, at: Date) => {
      const a = leaseAction(lease, me, at, 15);
      if (a.action !== 'wait') lease = a.spec;
      return a.action;
    };
    expect(step('xds-a', t(0))).toBe('create');
    expect(step('xds-b', t(1))).toBe('wait');
    expect(holds(lease, 'xds-a', t(1))).toBe(true);
    expect(holds(lease, 'xds-b', t(1))).toBe(false);
    expect(step('xds-a', t(5))).toBe('renew');
    expect(step('xds-b', t(19))).toBe('wait'); // renewed at 5 s, valid to 20 s
    // xds-a dies; its lease runs out and it may no longer write status even if it comes back late.
    expect(holds(lease, 'xds-a', t(21))).toBe(false);
    expect(step('xds-b', t(21))).toBe('takeover');
    expect(lease).toMatchObject({ holderIdentity: 'xds-b', leaseTransitions: 1 });
    expect(step('xds-a', t(22))).toBe('wait');
  });

  it('both replicas deciding from the same read both want it; the API server keeps only the first write', () => {
    const read: LeaseSpec = {
      holderIdentity: 'xds-old',
      renewTime: t(0).toISOString(),
      leaseDurationSeconds: 15,
    };
    const a = leaseAction(read, 'xds-a', t(30), 15);
    const b = leaseAction(read, 'xds-b', t(30), 15);
    expect([a.action, b.action]).toEqual(['takeover', 'takeover']);
    // Their replace calls carry the same resourceVersion: the loser gets 409 and does not lead
    // (lease-loop.ts); here, only the spec that was written holds.
    const written = a.action === 'takeover' ? a.spec : undefined;
    expect(holds(written, 'xds-a', t(31))).toBe(true);
    expect(holds(written, 'xds-b', t(31))).toBe(false);
  });
});
