// The release emitter against the real bridge's ingest answers (docs/broker-bridge.md, answer
// status): 200 all accepted, 207 some rejected, a 4xx with per-event results when every event of the
// batch was rejected. Every event must land in exactly one metric: emitted or dropped as `rejected`.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { removeDir, startBridge, tap, type Running } from '../broker-bridge/ingest-fixture.js';
import { config, emitter, exchange, healthy, stat } from './harness.js';

let b: Running;
beforeAll(async () => {
  // The anonymous producer may publish only under acme/ok/: anything else is rejected per event (403).
  b = await startBridge({
    edit: (c) => (c.auth = { allowUnauthenticated: true, anonymousTopics: ['acme/ok/>'], producers: [] }),
  });
});
afterAll(async () => {
  await b.stop();
  await removeDir(b.dir);
});

async function run(keys: string[]): Promise<{ emitted: number; rejected: number; refused: number }> {
  const bridgeUrl = new URL(b.url).origin;
  const e = await emitter(config({ event: { type: 'acme.t', topic: 'acme/{request.header.x-k}/v1' } }), {
    bridgeUrl,
  });
  for (const k of keys) exchange(e.plugin, { headers: { 'x-k': k } });
  e.host.advance(50);
  await e.host.settle();
  healthy(e.plugin);
  return {
    emitted: stat(e.host, 'rule=account-opened.events_emitted'),
    rejected: stat(e.host, 'rule=account-opened.reason=rejected.events_dropped'),
    refused: stat(e.host, 'rule=account-opened.reason=batch_refused.events_dropped'),
  };
}

describe('event-emitter: the bridge answers 200 / 207 / 4xx with per-event results', () => {
  test('a batch the bridge took whole (200) is counted emitted', async () => {
    const t = await tap(b.bridge.broker, 'answers-200', 'acme/ok/>');
    expect(await run(['ok', 'ok'])).toEqual({ emitted: 2, rejected: 0, refused: 0 });
    await t.until(2);
    await t.close();
  });

  test('a batch with some events rejected (207) counts each event by its own result', async () => {
    expect(await run(['ok', 'nope', 'ok'])).toEqual({ emitted: 2, rejected: 1, refused: 0 });
  });

  test('a batch with every event rejected (403 + results) counts them rejected, not batch_refused', async () => {
    expect(await run(['nope', 'nope'])).toEqual({ emitted: 0, rejected: 2, refused: 0 });
  });

  test('a whole-request refusal without results (413) is still batch_refused and not retried', async () => {
    const e = await emitter(config()); // test-answered bridge cluster
    exchange(e.plugin);
    const [call] = (e.host.advance(50), e.host.pendingCalls);
    // Answered by hand like the bridge's 413 over limits.maxBatchBytes, which carries only `error`.
    call!.respond({ status: 413, body: '{"error":"request body is over the limit"}' });
    e.host.advance(1000);
    expect(stat(e.host, 'rule=account-opened.reason=batch_refused.events_dropped')).toBe(1);
    expect(e.host.pendingCalls).toHaveLength(0);
  });
});
