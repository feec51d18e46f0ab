// The embedded broker: the shared conformance suite, plus what only it must show — events and
// consumer positions surviving a restart, torn-tail recovery, and log retention.
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmbeddedBroker } from '../../broker-bridge/brokers/embedded/index.js';
import type { BrokerMessage, ReceivedMessage } from '../../broker-bridge/brokers/types.js';
import { runConformance } from './conformance.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sidecast-embedded-'));
  dirs.push(d);
  return d;
}

let conformanceDir: Promise<string> | null = null;
runConformance('embedded', {
  // Every replica of a run opens the same directory, as bridge replicas in one process would.
  make: async () => new EmbeddedBroker(await (conformanceDir ??= freshDir()), { redeliveryDelayMs: 50 }),
  unrepresentable: [],
});

const msg = (id: string, topic = 'acme/bank/account/opened/v1'): BrokerMessage => ({
  id,
  topic,
  body: Buffer.from(JSON.stringify({ id })),
});

async function collect(
  b: EmbeddedBroker,
  name: string,
  pattern: string,
  n: number,
  got: ReceivedMessage[] = [],
): Promise<ReceivedMessage[]> {
  const c = await b.subscribe({ name, patterns: [pattern], maxInFlight: 16 }, async (m) => void got.push(m));
  for (let i = 0; i < 200 && got.length < n; i++) await sleep(20);
  await c.close();
  return got;
}

describe('embedded broker durability', () => {
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('keeps published events and consumer positions across a restart', async () => {
    const dir = await freshDir();
    const a = new EmbeddedBroker(dir);
    await a.connect();
    // Register the durable consumer, consume the first 3 events, then stop the broker.
    expect((await collect(a, 'audit', 'acme/>', 0)).length).toBe(0);
    await a.publish([msg('e0'), msg('e1'), msg('e2')]);
    expect((await collect(a, 'audit', 'acme/>', 3)).map((m) => m.id)).toEqual(['e0', 'e1', 'e2']);
    await a.publish([msg('e3'), msg('e4')]);
    await a.close();

    const b = new EmbeddedBroker(dir);
    await b.connect();
    // Only the unacknowledged tail comes back; the acknowledged three are not redelivered.
    const got = await collect(b, 'audit', 'acme/>', 2);
    expect(got.map((m) => m.id)).toEqual(['e3', 'e4']);
    await b.close();
  });

  it('redelivers after a restart what was delivered but never acknowledged', async () => {
    const dir = await freshDir();
    const a = new EmbeddedBroker(dir, { redeliveryDelayMs: 60_000 });
    await a.connect();
    await collect(a, 'flaky', 'acme/>', 0);
    await a.publish([msg('n0'), msg('n1')]);
    const seen: string[] = [];
    const c = await a.subscribe({ name: 'flaky', patterns: ['acme/>'], maxInFlight: 4 }, async (m) => {
      seen.push(m.id);
      if (m.id === 'n1') throw new Error('not now');
    });
    for (let i = 0; i < 100 && seen.length < 2; i++) await sleep(20);
    await c.close();
    await a.close();

    const b = new EmbeddedBroker(dir);
    await b.connect();
    expect((await collect(b, 'flaky', 'acme/>', 1)).map((m) => m.id)).toEqual(['n1']);
    await b.close();
  });

  it('cuts a torn record at the log tail on open and keeps everything before it', async () => {
    const dir = await freshDir();
    const a = new EmbeddedBroker(dir);
    await a.connect();
    await collect(a, 'tail', 'acme/>', 0);
    await a.publish([msg('t0'), msg('t1')]);
    await a.close();
    const seg = join(dir, 'log', (await readdir(join(dir, 'log')))[0]!);
    await truncate(seg, (await stat(seg)).size - 3); // a crash in the middle of writing t1

    const b = new EmbeddedBroker(dir);
    await b.connect();
    await b.publish([msg('t2')]);
    expect((await collect(b, 'tail', 'acme/>', 2)).map((m) => m.id)).toEqual(['t0', 't2']);
    await b.close();
  });

  it('deletes log segments once every durable consumer has passed them', async () => {
    const dir = await freshDir();
    const a = new EmbeddedBroker(dir, { segmentBytes: 2048 });
    await a.connect();
    await collect(a, 'trim', 'acme/>', 0);
    for (let i = 0; i < 40; i++) await a.publish([{ ...msg(`s${i}`), body: Buffer.alloc(300, 32) }]);
    const before = (await readdir(join(dir, 'log'))).length;
    expect(before).toBeGreaterThan(3);
    await collect(a, 'trim', 'acme/>', 40);
    await a.close();
    expect((await readdir(join(dir, 'log'))).length).toBeLessThan(before);
  });

  it('names the problem in a bad broker URL and a bad consumer name', async () => {
    expect(() => EmbeddedBroker.fromUrl('nats://x')).toThrow('is not embedded://<directory>');
    const b = new EmbeddedBroker(await freshDir());
    await b.connect();
    await expect(
      b.subscribe({ name: 'bad name!', patterns: ['a/>'], maxInFlight: 1 }, async () => {}),
    ).rejects.toThrow('consumer name "bad name!" must be');
    await b.close();
  });
});
