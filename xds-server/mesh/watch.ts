// Watches a mesh config file or directory and re-translates on change (debounced). A bad edit is
// reported and the last good resources keep being served.
import { createHash } from 'node:crypto';
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { DocumentCache } from './documents.js';
import { loadMesh } from './load.js';
import { translate, TranslationMemo } from './translate.js';
import type { FleetResources, MeshConfig } from './types.js';

export interface MeshState {
  /** Last good resources (undefined until the config has loaded once). */
  resources?: FleetResources;
  config?: MeshConfig;
  /** Content hash of `resources`: same resources ⇒ same version. */
  version?: string;
  /** Why the newest edit was refused (MeshConfigError or ProtoCheckError); cleared by a good edit. */
  error?: Error;
  /** When `error` was recorded. */
  errorAt?: Date;
}

export interface MeshWatcher {
  current(): MeshState;
  /** Re-reads now, skipping the debounce. */
  reload(): void;
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last file event before reloading (editors write in bursts). Default 100 ms. */
  debounceMs?: number;
  /** Longest a change waits while edits keep arriving (a generator rewriting files). Default 2000 ms. */
  maxWaitMs?: number;
}

type GroupTypes = FleetResources extends Map<string, infer T> ? T : never;
const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
/** Digest per group object: translate() with a memo hands back the same object for an unchanged group. */
const groupDigests = new WeakMap<GroupTypes, string>();

function groupDigest(types: GroupTypes): string {
  let d = groupDigests.get(types);
  if (d === undefined) {
    const h = createHash('sha256');
    for (const [type, names] of sorted(types))
      for (const [name, bytes] of sorted(names))
        h.update(`${type}\0${name}\0${bytes.length}\0`).update(bytes);
    groupDigests.set(types, (d = h.digest('hex')));
  }
  return d;
}

/**
 * Deterministic version of a FleetResources: sha256 over each group's name and the sha256 of its
 * types, names and bytes in sorted order. FleetResources are never changed once built.
 */
export function resourcesVersion(resources: FleetResources): string {
  const h = createHash('sha256');
  for (const [group, types] of sorted(resources)) h.update(`${group}\0${groupDigest(types)}\0`);
  return h.digest('hex').slice(0, 16);
}

/**
 * Loads `path` now (calling onChange or onError before returning), then on every change.
 * onChange fires only when the translated resources actually differ.
 */
export function watchMesh(
  path: string,
  onChange: (resources: FleetResources, version: string, config: MeshConfig) => void,
  onError: (err: Error) => void,
  options: WatchOptions = {},
): MeshWatcher {
  const target = resolve(path);
  const state: MeshState = {};
  const debounceMs = options.debounceMs ?? 100;
  const maxWaitMs = options.maxWaitMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  let firstEventAt: number | undefined;
  const documents = new DocumentCache();
  const memo = new TranslationMemo();

  const reload = () => {
    clearTimeout(timer);
    timer = firstEventAt = undefined;
    let config: MeshConfig;
    let resources: FleetResources;
    try {
      // Incremental: only documents whose text changed are parsed again, only groups whose inputs
      // changed are translated again (docs/mesh-config.md); the result equals a full rebuild.
      config = loadMesh(target, documents);
      documents.sweep();
      resources = translate(config, memo);
    } catch (e) {
      state.error = e instanceof Error ? e : new Error(String(e));
      state.errorAt = new Date();
      onError(state.error);
      return;
    }
    state.error = state.errorAt = undefined;
    const version = resourcesVersion(resources);
    if (version === state.version) return;
    Object.assign(state, { resources, config, version });
    onChange(resources, version, config);
  };

  // A file is watched through its directory: editors save by writing a new file and renaming it,
  // which would orphan a watch on the old inode.
  const isDir = (() => {
    try {
      return statSync(target).isDirectory();
    } catch {
      return false;
    }
  })();
  const watched = isDir ? target : dirname(target);
  const name = basename(target);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(watched, { recursive: isDir, persistent: false }, (_event, file) => {
      if (!isDir && file !== null && file !== name) return;
      clearTimeout(timer);
      firstEventAt ??= Date.now();
      timer = setTimeout(reload, Math.max(0, Math.min(debounceMs, firstEventAt + maxWaitMs - Date.now())));
    });
    watcher.on('error', (e) =>
      onError(new Error(`watching ${watched} failed: ${e.message}; config changes are no longer picked up`)),
    );
  } catch (e) {
    onError(
      new Error(`cannot watch ${watched}: ${(e as Error).message}; config changes will not be picked up`),
    );
  }
  reload();

  return {
    current: () => ({ ...state }),
    reload,
    close: () => {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
