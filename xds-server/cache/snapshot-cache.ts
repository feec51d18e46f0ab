// Snapshot cache: per node group, per type, an immutable TypeSnapshot. Unchanged resources keep
// their CachedResource object across updates, so bytes (and any wire encoding memoised on them by
// the server) are shared by every stream and every version that contains them.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { CachedResource, ChangeListener, FleetResources, TypeSnapshot } from './types.js';

const hash = (data: Uint8Array | string): string =>
  createHash('sha256').update(data).digest('hex').slice(0, 16);

export class SnapshotCache {
  private readonly groups = new Map<string, Map<string, TypeSnapshot>>();
  private readonly listeners = new Set<ChangeListener>();
  /** Every type URL any group ever held: what the server knows how to serve. */
  private readonly everTyped = new Set<string>();
  private published = false;

  /** True once a first fleet (or group) was published: the server has something to say. */
  get ready(): boolean {
    return this.published;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Replaces the whole fleet; groups absent from `fleet` are removed (unknown from then on: their
   * streams keep what they have, see hasGroup). Returns changed types per group.
   */
  setFleet(fleet: FleetResources): Map<string, Set<string>> {
    const changes = new Map<string, Set<string>>();
    for (const group of new Set([...this.groups.keys(), ...fleet.keys()])) {
      const types = fleet.get(group);
      const changed = types ? this.setGroup(group, types) : this.removeGroup(group);
      if (changed.size) changes.set(group, changed);
    }
    this.published = true;
    return changes;
  }

  /** Replaces one group's resources (types absent from `types` become empty); notifies listeners. */
  setGroup(group: string, types: Map<string, Map<string, Uint8Array>>): Set<string> {
    return this.replace(group, types, true);
  }

  /** Forgets a group: it has no snapshot any more (its types read as empty, hasGroup is false). */
  removeGroup(group: string): Set<string> {
    return this.groups.has(group) ? this.replace(group, new Map(), false) : new Set();
  }

  private replace(group: string, types: Map<string, Map<string, Uint8Array>>, keep: boolean): Set<string> {
    const now = performance.now();
    const current = this.groups.get(group) ?? new Map<string, TypeSnapshot>();
    const next = new Map<string, TypeSnapshot>();
    const changed = new Map<string, Set<string>>();
    for (const typeUrl of new Set([...current.keys(), ...types.keys()])) {
      const before = current.get(typeUrl);
      const after = buildTypeSnapshot(typeUrl, types.get(typeUrl) ?? new Map(), before, now);
      if (after !== before && (before || after.resources.size)) changed.set(typeUrl, changedNames(before, after));
      if (after.resources.size) {
        next.set(typeUrl, after); // empty types read as the shared empty snapshot
        this.everTyped.add(typeUrl);
      }
    }
    if (keep) this.groups.set(group, next);
    else this.groups.delete(group);
    this.published = true;
    if (changed.size) for (const listener of this.listeners) listener(group, changed);
    return new Set(changed.keys());
  }

  /** Whether the group has a snapshot (possibly empty): a node of an unknown group is sent nothing. */
  hasGroup(group: string): boolean {
    return this.groups.has(group);
  }

  /** Whether any group ever held resources of this type (unknown types are refused by the server). */
  knowsType(typeUrl: string): boolean {
    return this.everTyped.has(typeUrl);
  }

  /** The group's snapshot of a type; an empty (but versioned) snapshot when there is none. */
  get(group: string, typeUrl: string): TypeSnapshot {
    return this.groups.get(group)?.get(typeUrl) ?? emptySnapshot(typeUrl);
  }

  groupNames(): string[] {
    return [...this.groups.keys()].sort();
  }

  typesOf(group: string): string[] {
    return [...(this.groups.get(group)?.keys() ?? [])].sort();
  }
}

/** Names added, removed or changed between two snapshots of a type. */
function changedNames(before: TypeSnapshot | undefined, after: TypeSnapshot): Set<string> {
  const out = new Set<string>();
  for (const r of after.resources.values()) if (before?.resources.get(r.name) !== r) out.add(r.name);
  for (const name of before?.resources.keys() ?? []) if (!after.resources.has(name)) out.add(name);
  return out;
}

const EMPTY_VERSION = hash('');
const empties = new Map<string, TypeSnapshot>();
function emptySnapshot(typeUrl: string): TypeSnapshot {
  let e = empties.get(typeUrl);
  if (!e)
    empties.set(typeUrl, (e = { typeUrl, version: EMPTY_VERSION, resources: new Map(), publishedAt: 0 }));
  return e;
}

/** Builds the next snapshot, reusing `before` itself when nothing changed and its resources when their bytes did not. */
function buildTypeSnapshot(
  typeUrl: string,
  items: Map<string, Uint8Array>,
  before: TypeSnapshot | undefined,
  now: number,
): TypeSnapshot {
  const resources = new Map<string, CachedResource>();
  for (const name of [...items.keys()].sort()) {
    const bytes = items.get(name)!;
    const old = before?.resources.get(name);
    const reuse = old && (old.bytes === bytes || Buffer.compare(old.bytes, bytes) === 0);
    resources.set(name, reuse ? old : { name, version: hash(bytes), bytes });
  }
  const typeHash = createHash('sha256');
  for (const r of resources.values()) typeHash.update(r.name).update('\0').update(r.version).update('\0');
  const version = resources.size ? typeHash.digest('hex').slice(0, 16) : EMPTY_VERSION;
  if (before && before.version === version) return before;
  return { typeUrl, version, resources, publishedAt: now };
}
