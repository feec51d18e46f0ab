// The durable spool on real files: order, cursor across reopen, bound, torn-tail recovery.
import { afterEach, describe, expect, it } from '@jest/globals';
import { appendFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrokerMessage } from '../../broker-bridge/brokers/types.js';
import { Spool, SpoolFullError } from '../../broker-bridge/spool/spool.js';
import { removeDir, tempDir } from './ingest-fixture.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await removeDir(d);
});
async function dir(): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  return d;
}
const m = (i: number, key?: string): BrokerMessage => ({
  id: `s${i}`,
  topic: `t/${i % 3}`,
  ...(key ? { key } : {}),
  body: Buffer.from(JSON.stringify({ i })),
});

describe('spool', () => {
  it('hands events back in append order, across segments and a reopen', async () => {
    const d = await dir();
    const s = await Spool.open(d, { segmentBytes: 256 });
    await Promise.all([s.append([m(0), m(1, 'k')]), s.append([m(2)]), s.append([m(3), m(4)])]);
    expect(s.depth).toBe(5);
    const first = await s.peek(2);
    expect(first.messages.map((x) => [x.id, x.key])).toEqual([
      ['s0', undefined],
      ['s1', 'k'],
    ]);
    await s.commit(first);
    await s.close();

    const again = await Spool.open(d, { segmentBytes: 256 });
    expect(again.depth).toBe(3);
    const rest = await again.peek(10);
    expect(rest.messages.map((x) => x.id)).toEqual(['s2', 's3', 's4']);
    expect(Buffer.from(rest.messages[2]!.body).toString()).toBe('{"i":4}');
    await again.commit(rest);
    expect(again.depth).toBe(0);
    expect(again.bytes).toBe(0);
    // Fully replayed segments are deleted; only the one being written stays.
    expect((await readdir(join(d, 'segments'))).length).toBe(1);
    await again.close();
  });

  it('refuses an append that would exceed maxBytes and writes none of it', async () => {
    const s = await Spool.open(await dir(), { maxBytes: 200 });
    await s.append([m(0), m(1)]);
    const before = s.depth;
    const err = await s
      .append(
        Array.from({ length: 10 }, (_, i) => m(10 + i)),
        9,
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpoolFullError);
    expect((err as SpoolFullError).message).toBe(
      'spool is full (limit spool.maxBytes = 200 bytes); the broker is unreachable — retry later',
    );
    expect((err as SpoolFullError).retryAfterSeconds).toBe(9);
    expect(s.depth).toBe(before);
    expect((await s.peek(100)).messages.map((x) => x.id)).toEqual(['s0', 's1']);
    await s.close();
  });

  it('drops a torn final record after a crash and keeps the rest', async () => {
    const d = await dir();
    const s = await Spool.open(d);
    await s.append([m(0), m(1)]);
    await s.close();
    const seg = join(d, 'segments', (await readdir(join(d, 'segments')))[0]!);
    await appendFile(seg, Buffer.from([200, 0, 0, 0, 1, 2])); // header of a record that never finished
    const again = await Spool.open(d);
    expect(again.depth).toBe(2);
    await again.append([m(2)]);
    expect((await again.peek(10)).messages.map((x) => x.id)).toEqual(['s0', 's1', 's2']);
    await again.close();
  });

  it('names the cursor file when it is corrupt', async () => {
    const d = await dir();
    await (await Spool.open(d)).close();
    await appendFile(join(d, 'cursor'), 'garbage');
    await expect(Spool.open(d)).rejects.toThrow(
      `spool cursor file ${join(d, 'cursor')} holds "garbage", not a position`,
    );
  });
});
