// max_body_bytes bounds what the emitter copies into Wasm memory, not only what it keeps: a body
// chunk over the cap is never pulled in (linear memory never shrinks, reference §3.5), so one big
// single-chunk body cannot grow the VM whatever its size.
import { describe, expect, test } from '@jest/globals';
import { acceptAll, config, emitter, exchange, flush, healthy, stat } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function body(size: number): Uint8Array {
  const prefix = '{"id":"acc-1","pad":"';
  const b = new Uint8Array(size).fill(0x78);
  b.set(Buffer.from(prefix));
  b.set(Buffer.from('"}'), size - 2);
  return b;
}

describe('event-emitter: max_body_bytes caps the copy into Wasm memory', () => {
  test('linear memory stays flat for single-chunk bodies of 16 KiB, 1 MiB, 2 MiB and 8 MiB (cap 64 KiB)', async () => {
    const e = await emitter(
      config(
        {},
        {
          rules: [
            {
              name: 'res',
              match: { method: 'PUT', path: '/accounts/{id}' },
              event: {
                type: 't',
                topic: 'r/{path.id}',
                data: { from: 'response_body' },
                max_body_bytes: 65536,
              },
            },
            {
              name: 'req',
              match: { method: 'POST', path: '/accounts' },
              event: { type: 't', topic: 'q', data: { from: 'request_body' }, max_body_bytes: 65536 },
            },
          ],
        },
      ),
    );
    const run = (size: number): void => {
      const b = body(size);
      exchange(e.plugin, { method: 'PUT', path: '/accounts/1' }, { status: 200, body: b });
      exchange(e.plugin, { method: 'POST', path: '/accounts', body: b }, { status: 201 });
      for (const call of flush(e.host)) acceptAll(call);
    };
    // Warm-up inside the cap (the largest copy the cap allows), then bodies past it.
    for (let i = 0; i < 20; i++) (run(16 * KiB), run(64 * KiB - 64));
    const warm = e.plugin.vm().memory.byteLength;
    const sizes = [16 * KiB, 1 * MiB, 2 * MiB, 8 * MiB];
    for (const size of sizes) {
      run(size);
      expect([size, e.plugin.vm().memory.byteLength]).toEqual([size, warm]);
    }
    // Every exchange emitted one event per rule (over the cap: without the body as data).
    expect(stat(e.host, 'rule=res.events_emitted')).toBe(40 + sizes.length);
    expect(stat(e.host, 'rule=req.events_emitted')).toBe(40 + sizes.length);
    healthy(e.plugin);
  });
});

describe('event-emitter: a topic template that reads a body over max_body_bytes', () => {
  test('drops the event as body_over_limit_for_template, not bad_topic; within the limit it is emitted', async () => {
    const e = await emitter(
      config({
        match: { method: 'POST', path: '/accounts', status: [201] },
        event: {
          type: 't',
          topic: 'acme/bank/{response.body.region}/v1',
          data: { from: 'none' },
          max_body_bytes: 64,
        },
      }),
    );
    exchange(e.plugin, {}, { status: 201, body: JSON.stringify({ region: 'eu', pad: 'x'.repeat(100) }) });
    exchange(e.plugin, {}, { status: 201, body: JSON.stringify({ region: 'us' }) });
    exchange(e.plugin, {}, { status: 201, body: JSON.stringify({ region: 'a/b' }) });
    const topics = flush(e.host).flatMap((c) => acceptAll(c).map((x) => x.topic));
    expect(topics).toEqual(['acme/bank/us/v1']);
    expect(stat(e.host, 'rule=account-opened.reason=body_over_limit_for_template.events_dropped')).toBe(1);
    expect(stat(e.host, 'rule=account-opened.reason=bad_topic.events_dropped')).toBe(1); // the "a/b" value
    healthy(e.plugin);
  });
});
