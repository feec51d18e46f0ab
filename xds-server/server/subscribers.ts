// Which streams of a group subscribe to which resources, so a change marks only the streams that
// want one of the changed names (plus the type's wildcard subscribers): push work per change grows
// with the subscribers of what changed, not with every stream of the group.
export interface Subscription {
  wildcard: boolean;
  names: ReadonlySet<string>;
}

interface TypeIndex<S> {
  wildcard: Set<S>;
  byName: Map<string, Set<S>>;
}

export class SubscriberIndex<S> {
  private readonly groups = new Map<string, Map<string, TypeIndex<S>>>();
  /** What each stream is indexed under, to undo it: stream → type → (group, wildcard, names). */
  private readonly indexed = new Map<
    S,
    Map<string, { group: string; wildcard: boolean; names: Set<string> }>
  >();

  /** Re-indexes one stream × type from its current subscription. */
  set(stream: S, group: string, typeUrl: string, sub: Subscription): void {
    let types = this.indexed.get(stream);
    if (!types) this.indexed.set(stream, (types = new Map()));
    const before = types.get(typeUrl);
    const idx = this.typeIndex(group, typeUrl);
    if (before?.wildcard && !sub.wildcard) idx.wildcard.delete(stream);
    if (sub.wildcard) idx.wildcard.add(stream);
    const names = new Set(sub.names);
    for (const n of before?.names ?? []) if (!names.has(n)) this.unname(idx, n, stream);
    for (const n of names) {
      if (before?.names.has(n)) continue;
      let set = idx.byName.get(n);
      if (!set) idx.byName.set(n, (set = new Set()));
      set.add(stream);
    }
    types.set(typeUrl, { group, wildcard: sub.wildcard, names });
  }

  remove(stream: S): void {
    for (const [typeUrl, { group, names }] of this.indexed.get(stream) ?? []) {
      const idx = this.typeIndex(group, typeUrl);
      idx.wildcard.delete(stream);
      for (const n of names) this.unname(idx, n, stream);
    }
    this.indexed.delete(stream);
  }

  /** Streams of `group` that want any of `names` of `typeUrl`. */
  affected(group: string, typeUrl: string, names: Iterable<string>): Set<S> {
    const idx = this.groups.get(group)?.get(typeUrl);
    const out = new Set<S>(idx?.wildcard);
    if (!idx) return out;
    for (const n of names) for (const s of idx.byName.get(n) ?? []) out.add(s);
    return out;
  }

  private typeIndex(group: string, typeUrl: string): TypeIndex<S> {
    let types = this.groups.get(group);
    if (!types) this.groups.set(group, (types = new Map()));
    let idx = types.get(typeUrl);
    if (!idx) types.set(typeUrl, (idx = { wildcard: new Set(), byName: new Map() }));
    return idx;
  }

  private unname(idx: TypeIndex<S>, name: string, stream: S): void {
    const set = idx.byName.get(name);
    set?.delete(stream);
    if (set?.size === 0) idx.byName.delete(name);
  }
}
