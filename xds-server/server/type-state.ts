// Per (stream, type URL) state and the decision of what to send — the protocol core shared by
// SotW and delta (reference/xds.md §1.13). `sent` mirrors what the client holds from us, so a
// response is computed as the difference between the cache and `sent`: an ACK or a NACK changes
// nothing in it, hence a NACKed version is never re-sent until the cache moves on.
import type { CachedResource, TypeSnapshot } from '../cache/types.js';
import type { ErrorDetail, Protocol } from './messages.js';

/** `sent` value for a name we told a delta client does not exist. */
const ABSENT = '';

export interface TypeRules {
  /** SotW responses carry every subscribed resource; absence means deletion (LDS, CDS, Subscription). */
  fullState: boolean;
  /** `*` (and the legacy empty first request) means "everything the server has for this node". */
  wildcard: boolean;
}

export interface SentRecord {
  version: string;
  nonce: string;
  at: number;
  /** When the config this response carries became relevant to this stream (convergence start). */
  since: number;
}

export interface NackRecord {
  version: string;
  nonce: string;
  message: string;
  code: number;
  at: number;
}

export interface Plan {
  resources: CachedResource[];
  removed: string[];
  /** Names sent because they are new to the client, changed or forced (SotW full state also carries the rest). */
  changed: string[];
  /** A heartbeat: resources are re-stated by name, version and TTL only (Resource without body). */
  bodiless?: boolean;
}

export class TypeState {
  wildcard = false;
  /** A name (or `*`) was ever requested: from then on an empty SotW list means "nothing". */
  private everNamed = false;
  private seen = false;
  readonly names = new Set<string>();
  readonly sent = new Map<string, string>();
  private readonly forced = new Set<string>();
  private everResponded = false;
  /** A TTL refresh was asked for (see XdsStream.heartbeat). */
  heartbeatDue = false;
  /** The client changed its subscription: answer without waiting for the reply to the last response. */
  requested = false;

  /** Responses awaiting ACK/NACK by nonce (SotW keeps only the latest; delta may have several). */
  readonly pending = new Map<string, SentRecord>();
  lastSent: SentRecord | undefined;
  lastAck: { version: string; nonce: string; at: number } | undefined;
  lastNack: NackRecord | undefined;
  /** When this type was first marked for a push not yet done (push-latency start). */
  dirtySince: number | undefined;
  firstRequestAt = 0;

  constructor(
    readonly typeUrl: string,
    readonly rules: TypeRules,
    private readonly legacyWildcard: boolean,
  ) {}

  /**
   * SotW: the request's name list replaces the subscription (always applied, whatever the nonce).
   * Returns whether anything may now need sending (false for a plain ACK/NACK).
   */
  applySotwNames(resourceNames: string[], now: number): boolean {
    const first = !this.seen;
    this.seen = true;
    if (first) this.firstRequestAt = now;
    if (resourceNames.length) this.everNamed = true;
    const wasWildcard = this.wildcard;
    this.wildcard =
      this.rules.wildcard &&
      (resourceNames.includes('*') || (!this.everNamed && this.legacyWildcard && resourceNames.length === 0));
    const next = new Set(resourceNames.filter((n) => n !== '*'));
    let changed = first || wasWildcard !== this.wildcard;
    for (const n of next) if (!this.names.has(n)) changed = this.subscribeName(n);
    for (const n of this.names) if (!next.has(n)) changed = this.unsubscribeName(n);
    if (wasWildcard && !this.wildcard) this.dropUnwanted();
    return changed;
  }

  /**
   * Delta: subscribe/unsubscribe deltas; the first request may carry what the client already holds.
   * Returns whether anything may now need sending (false for a plain ACK/NACK).
   */
  applyDelta(
    subscribe: string[],
    unsubscribe: string[],
    initialVersions: Map<string, string>,
    now: number,
  ): boolean {
    const first = !this.seen;
    this.seen = true;
    if (first) {
      this.firstRequestAt = now;
      for (const [name, version] of initialVersions) this.sent.set(name, version);
      if (subscribe.length === 0 && this.legacyWildcard && this.rules.wildcard) this.wildcard = true;
    }
    for (const n of subscribe) {
      if (n === '*') {
        if (this.rules.wildcard) this.wildcard = true;
        continue;
      }
      this.names.add(n);
      // A subscribe is always answered — unless the client just told us it holds this version.
      if (!(first && initialVersions.has(n))) this.forced.add(n);
    }
    for (const n of unsubscribe) {
      if (n === '*') {
        this.wildcard = false;
        this.dropUnwanted();
        continue;
      }
      this.names.delete(n);
      this.forced.delete(n);
      // Still covered by the wildcard: re-state it (or its absence) so the client knows it stays.
      if (this.wildcard) this.forced.add(n);
      else this.sent.delete(n);
    }
    return first || subscribe.length > 0 || unsubscribe.length > 0;
  }

  /** Re-send these subscribed names even if unchanged (the CLAs of changed clusters: Envoy needs one to finish warming). */
  forceResend(names: Iterable<string>): void {
    for (const n of names) if (this.wants(n)) this.forced.add(n);
  }

  /** What a heartbeat re-states: every resource the client holds at the current version. */
  heartbeatPlan(snap: TypeSnapshot): Plan | undefined {
    const resources = this.wanted(snap).filter((r) => this.sent.get(r.name) === r.version);
    return resources.length ? { resources, removed: [], changed: [], bodiless: true } : undefined;
  }

  private subscribeName(n: string): true {
    this.names.add(n);
    this.forced.add(n);
    return true;
  }

  private unsubscribeName(n: string): true {
    this.names.delete(n);
    this.forced.delete(n);
    this.sent.delete(n);
    return true;
  }

  private dropUnwanted(): void {
    for (const n of this.sent.keys()) if (!this.names.has(n)) this.sent.delete(n);
  }

  private wants(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** Subscribed resources that exist in the snapshot (wildcard: all of them). */
  private wanted(snap: TypeSnapshot): CachedResource[] {
    if (this.wildcard) return [...snap.resources.values()];
    const out: CachedResource[] = [];
    for (const n of this.names) {
      const r = snap.resources.get(n);
      if (r) out.push(r);
    }
    return out;
  }

  private due(r: CachedResource): boolean {
    return this.forced.has(r.name) || this.sent.get(r.name) !== r.version;
  }

  /** Subscribed resources the client lacks, holds at another version, or must get again. */
  private changed(snap: TypeSnapshot): CachedResource[] {
    const out: CachedResource[] = [];
    if (this.wildcard) {
      for (const r of snap.resources.values()) if (this.due(r)) out.push(r);
    } else {
      for (const n of this.names) {
        const r = snap.resources.get(n);
        if (r && this.due(r)) out.push(r);
      }
    }
    return out;
  }

  /** What to send now, or undefined when the client is up to date. Updates `sent` as if it was sent. */
  plan(protocol: Protocol, snap: TypeSnapshot): Plan | undefined {
    if (!this.seen) return undefined;
    const changed = this.changed(snap);
    const removed: string[] = [];
    for (const [name, version] of this.sent) {
      if (!this.wants(name)) this.sent.delete(name);
      else if (!snap.resources.has(name) && version !== ABSENT) removed.push(name);
    }
    if (protocol === 'delta') {
      // Fast "does not exist" for freshly subscribed names the server does not have.
      for (const n of this.forced)
        if (!snap.resources.has(n) && this.sent.get(n) !== ABSENT && !removed.includes(n)) removed.push(n);
    }
    // SotW can express removals only in full-state types (by absence), and must answer a fresh
    // full-state subscription even when it is empty, or the client waits for its fetch timeout.
    const fullStateSotw = protocol === 'sotw' && this.rules.fullState;
    const send =
      changed.length > 0 ||
      (protocol === 'delta'
        ? removed.length > 0
        : fullStateSotw && (removed.length > 0 || !this.everResponded));
    this.forced.clear();
    for (const r of changed) this.sent.set(r.name, r.version);
    if (protocol === 'delta') {
      for (const n of removed) this.sent.set(n, ABSENT);
    } else {
      for (const n of removed) this.sent.delete(n);
    }
    if (!send) return undefined;
    this.everResponded = true;
    const resources = fullStateSotw ? this.wanted(snap) : changed;
    return {
      resources,
      removed: protocol === 'delta' ? removed : [],
      changed: changed.map((r) => r.name),
    };
  }

  /** The latest response of this type is not answered yet (a delta client may skip older nonces). */
  get awaitingReply(): boolean {
    return this.lastSent !== undefined && this.pending.has(this.lastSent.nonce);
  }

  recordSent(rec: SentRecord, protocol: Protocol): void {
    if (protocol === 'sotw') this.pending.clear();
    else if (this.pending.size >= 32) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(rec.nonce, rec);
    this.lastSent = rec;
  }

  /** Matches a reply to a response by nonce; undefined for a stale or unknown nonce. */
  settle(
    nonce: string,
    error: ErrorDetail | undefined,
    now: number,
  ): { rec: SentRecord; nack: boolean } | undefined {
    const rec = this.pending.get(nonce);
    if (!rec) return undefined;
    this.pending.delete(nonce);
    if (error) {
      this.lastNack = { version: rec.version, nonce, message: error.message, code: error.code, at: now };
    } else {
      this.lastAck = { version: rec.version, nonce, at: now };
    }
    return { rec, nack: !!error };
  }

  subscribedNames(): string[] {
    return [...(this.wildcard ? ['*'] : []), ...[...this.names].sort()];
  }
}
