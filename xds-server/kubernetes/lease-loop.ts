// Keeps (or waits for) the status-writer Lease: read, decide (lease.ts), write with the read
// resourceVersion so that of two replicas racing, the API server lets exactly one win (409 for
// the other). Renews at a third of the duration; gives the lease up on stop for a fast failover.
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { holds, leaseAction, type LeaseSpec } from './lease.js';

export interface LeaseOptions {
  name: string;
  namespace: string;
  identity: string;
  durationSeconds?: number;
  onChange: (leader: boolean) => void;
  log: Logger;
}

const status = (e: unknown) =>
  (e as { code?: number; statusCode?: number }).code ?? (e as { statusCode?: number }).statusCode;

export class LeaseLoop {
  private readonly api: CoordinationV1Api;
  private written: LeaseSpec | undefined;
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly duration: number;

  constructor(
    kc: KubeConfig,
    private readonly o: LeaseOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.duration = o.durationSeconds ?? 15;
  }

  isLeader(): boolean {
    return this.leader && holds(this.written, this.o.identity, new Date());
  }

  start(): void {
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.isLeader()) return;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      lease.spec = { ...lease.spec, leaseDurationSeconds: 1, renewTime: new Date(0) as never };
      await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
    } catch (e) {
      this.o.log.warn(
        { err: (e as Error).message },
        'could not release the status lease; the other replica takes over when it expires',
      );
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const was = this.leader;
    try {
      let current: V1Lease | undefined;
      try {
        current = await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      } catch (e) {
        if (status(e) !== 404) throw e;
      }
      const spec = current?.spec && toSpec(current.spec);
      const act = leaseAction(spec, this.o.identity, new Date(), this.duration);
      if (act.action === 'wait') {
        this.leader = false;
      } else {
        const body: V1Lease = {
          metadata: {
            name: this.o.name,
            namespace: this.o.namespace,
            resourceVersion: current?.metadata?.resourceVersion,
          },
          spec: fromSpec(act.spec),
        };
        if (act.action === 'create')
          await this.api.createNamespacedLease({ namespace: this.o.namespace, body });
        else await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body });
        this.written = act.spec;
        this.leader = true;
      }
    } catch (e) {
      // 409: another replica wrote first; anything else: we cannot prove we hold it.
      this.leader = false;
      if (status(e) !== 409) this.o.log.warn({ err: (e as Error).message }, 'status lease update failed');
    }
    if (this.leader !== was) {
      this.o.log.info(
        { lease: this.o.name, identity: this.o.identity },
        this.leader ? 'now the status writer' : 'no longer the status writer',
      );
      this.o.onChange(this.leader);
    }
    this.timer = setTimeout(() => void this.tick(), (this.duration * 1000) / 3);
  }
}

// The client types times as Date (MicroTime); lease.ts reasons in ISO strings.
type ClientLeaseSpec = NonNullable<V1Lease['spec']>;
function toSpec(s: ClientLeaseSpec): LeaseSpec {
  const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : typeof d === 'string' ? d : undefined);
  return {
    holderIdentity: s.holderIdentity,
    leaseDurationSeconds: s.leaseDurationSeconds,
    acquireTime: iso(s.acquireTime),
    renewTime: iso(s.renewTime),
    leaseTransitions: s.leaseTransitions,
  };
}
function fromSpec(s: LeaseSpec): ClientLeaseSpec {
  const date = (v: string | undefined) => (v ? (new Date(v) as never) : undefined);
  return { ...s, acquireTime: date(s.acquireTime), renewTime: date(s.renewTime) };
}
