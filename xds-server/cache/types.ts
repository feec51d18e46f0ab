// Data shapes of the snapshot cache. Resources are opaque serialized protos: the cache never
// decodes them and knows nothing of gRPC or of where they came from.

/** What translation produces: group → type URL → resource name → serialized proto (docs/interfaces.md §4). */
export type FleetResources = Map<string, Map<string, Map<string, Uint8Array>>>;

/** One resource as published: immutable, shared by every stream that sends it. */
export interface CachedResource {
  readonly name: string;
  /** Content hash of `bytes`: equal bytes ⇒ equal version, on every replica and after restarts. */
  readonly version: string;
  readonly bytes: Uint8Array;
}

/** All resources of one type for one group, with a version that changes whenever any of them does. */
export interface TypeSnapshot {
  readonly typeUrl: string;
  readonly version: string;
  readonly resources: ReadonlyMap<string, CachedResource>;
  /** performance.now() when this version was published (start of push/convergence latency). */
  readonly publishedAt: number;
}

/** Called after a group's snapshot changed: per type URL whose version moved, the names added, changed or removed. */
export type ChangeListener = (group: string, changed: ReadonlyMap<string, ReadonlySet<string>>) => void;
