// Snapshot cache: content versions (equal on every replica and restart, different on any change),
// shared resource objects across updates, and change notification only for types that moved.
import { describe, expect, it } from '@jest/globals';
import { SnapshotCache } from '../../xds-server/cache/snapshot-cache.js';
import { cluster, endpoints, fleet, TYPE } from './fixtures.js';

const fleetOf = (timeout: string, port: number) =>
  fleet({
    g: {
      [TYPE.cluster]: { a: cluster('a', timeout), b: cluster('b') },
      [TYPE.endpoint]: { a: endpoints('a', [port]) },
    },
  });

describe('SnapshotCache', () => {
  it('versions are content hashes: same content ⇒ same version in another instance, any change ⇒ new version', () => {
    const one = new SnapshotCache();
    const two = new SnapshotCache(); // another replica, or the same one after a restart
    one.setFleet(fleetOf('1s', 80));
    two.setFleet(fleetOf('1s', 80));
    expect(one.get('g', TYPE.cluster).version).toBe(two.get('g', TYPE.cluster).version);
    expect(one.get('g', TYPE.cluster).resources.get('a')!.version).toBe(
      two.get('g', TYPE.cluster).resources.get('a')!.version,
    );
    two.setFleet(fleetOf('2s', 80));
    expect(two.get('g', TYPE.cluster).version).not.toBe(one.get('g', TYPE.cluster).version);
    expect(two.get('g', TYPE.cluster).resources.get('b')!.version).toBe(
      one.get('g', TYPE.cluster).resources.get('b')!.version,
    );
  });

  it('keeps unchanged snapshots and resources as the same objects, and notifies only changed types', () => {
    const cache = new SnapshotCache();
    const seen: Array<[string, string[]]> = [];
    cache.onChange((group, types) => seen.push([group, [...types.keys()]]));
    expect(cache.ready).toBe(false);
    cache.setFleet(fleetOf('1s', 80));
    expect(cache.ready).toBe(true);
    const cds = cache.get('g', TYPE.cluster);
    const eds = cache.get('g', TYPE.endpoint);
    seen.length = 0;
    cache.setFleet(fleetOf('1s', 81));
    expect(seen).toEqual([['g', [TYPE.endpoint]]]);
    expect(cache.get('g', TYPE.cluster)).toBe(cds); // untouched type: same snapshot object
    expect(cache.get('g', TYPE.endpoint)).not.toBe(eds);
    cache.setFleet(fleetOf('3s', 81));
    expect(cache.get('g', TYPE.cluster).resources.get('b')).toBe(cds.resources.get('b')); // same bytes reused
  });

  it('a group or type that disappears becomes an empty, versioned snapshot', () => {
    const cache = new SnapshotCache();
    cache.setFleet(fleetOf('1s', 80));
    const seen: string[][] = [];
    cache.onChange((_g, types) => seen.push([...types.keys()].sort()));
    cache.setFleet(fleet({}));
    expect(seen).toEqual([[TYPE.cluster, TYPE.endpoint].sort()]);
    expect(cache.get('g', TYPE.cluster).resources.size).toBe(0);
    expect(cache.get('g', TYPE.cluster).version).toBe(cache.get('other', TYPE.listener).version);
    expect(cache.groupNames()).toEqual([]);
  });
});
