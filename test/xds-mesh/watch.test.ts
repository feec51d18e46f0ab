import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  MeshConfigError,
  watchMesh,
  type FleetResources,
  type MeshWatcher,
} from '../../xds-server/mesh/index.js';
import { BANK, edit } from './bank.js';

/** Records callbacks; `next()` resolves with the next one (the test timeout bounds the wait). */
function recorder() {
  const events: (
    { kind: 'change'; version: string; resources: FleetResources } | { kind: 'error'; error: Error }
  )[] = [];
  let wake: (() => void) | undefined;
  const push = (e: (typeof events)[number]) => {
    events.push(e);
    wake?.();
  };
  return {
    events,
    onChange: (resources: FleetResources, version: string) => push({ kind: 'change', version, resources }),
    onError: (error: Error) => push({ kind: 'error', error }),
    async next(count: number) {
      while (events.length < count) await new Promise<void>((r) => (wake = r));
      return events[count - 1]!;
    },
  };
}

describe('watchMesh', () => {
  let dir: string;
  let watcher: MeshWatcher | undefined;
  afterEach(() => {
    watcher?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads at once, follows edits, keeps the last good version on a bad edit, recovers', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sidecast-watch-'));
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, BANK);
    const rec = recorder();
    watcher = watchMesh(file, rec.onChange, rec.onError, { debounceMs: 20 });

    const first = await rec.next(1);
    expect(first.kind).toBe('change');
    const v1 = watcher.current().version!;
    expect(v1).toMatch(/^[0-9a-f]{16}$/);

    // A bad edit: reported with file and field, last good resources still served.
    writeFileSync(file, edit(BANK, ['port: 8090', 'port: "eighty"']));
    const bad = await rec.next(2);
    expect(bad.kind).toBe('error');
    const err = (bad as { error: Error }).error;
    expect(err).toBeInstanceOf(MeshConfigError);
    expect((err as MeshConfigError).issues[0]).toMatchObject({
      file,
      kind: 'Mesh',
      field: 'spec.bridge.port',
    });
    expect(watcher.current()).toMatchObject({ version: v1, error: err });
    expect(watcher.current().resources).toBe(first.kind === 'change' ? first.resources : undefined);

    // An editor-style save (write elsewhere, rename over): picked up, error cleared.
    writeFileSync(join(dir, '.mesh.yaml.tmp'), edit(BANK, ['8084', '8094']));
    renameSync(join(dir, '.mesh.yaml.tmp'), file);
    const good = await rec.next(3);
    expect(good.kind).toBe('change');
    const state = watcher.current();
    expect(state.error).toBeUndefined();
    expect(state.version).not.toBe(v1);
    expect((good as { version: string }).version).toBe(state.version);
  });

  it('does not call onChange when an edit leaves the resources unchanged', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sidecast-watch-'));
    writeFileSync(join(dir, 'a.yaml'), BANK);
    const rec = recorder();
    watcher = watchMesh(dir, rec.onChange, rec.onError, { debounceMs: 20 });
    await rec.next(1);
    // A comment-only edit then a real one: only the real one is reported.
    writeFileSync(join(dir, 'a.yaml'), `# just a comment\n${BANK}`);
    watcher.reload();
    writeFileSync(
      join(dir, 'b.yaml'),
      'apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: ledger }\nspec: { endpoints: ["127.0.0.1:8085"] }\n',
    );
    const second = await rec.next(2);
    expect(second.kind).toBe('change');
    expect((second as { resources: FleetResources }).resources.has('ledger')).toBe(true);
    expect(rec.events).toHaveLength(2);
  });

  it('applies a change after maxWaitMs even while the quiet period has not come', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sidecast-watch-'));
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, BANK);
    const rec = recorder();
    // A debounce longer than the test timeout: only the max wait can deliver the edit.
    watcher = watchMesh(file, rec.onChange, rec.onError, { debounceMs: 120_000, maxWaitMs: 50 });
    await rec.next(1);
    writeFileSync(file, edit(BANK, ['8084', '8094']));
    expect((await rec.next(2)).kind).toBe('change');
  });

  it('reports a missing path through onError and serves nothing', () => {
    dir = mkdtempSync(join(tmpdir(), 'sidecast-watch-'));
    const rec = recorder();
    watcher = watchMesh(join(dir, 'missing.yaml'), rec.onChange, rec.onError);
    expect(rec.events.map((e) => e.kind)).toEqual(['error']);
    expect(watcher.current().resources).toBeUndefined();
    expect(String(watcher.current().error)).toContain('missing.yaml: cannot read');
  });
});
