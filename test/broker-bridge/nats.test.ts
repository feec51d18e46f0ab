import { afterAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { NatsAdapter } from '../../broker-bridge/brokers/nats/adapter.js';
import type { ReceivedMessage } from '../../broker-bridge/brokers/types.js';
import { brokerReachable } from './broker-env.js';
import { runConformance } from './conformance.js';
import { NATS_PORT, natsTarget } from './targets.js';

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !cond(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

const up = await brokerReachable('NATS JetStream', NATS_PORT);
if (up) runConformance('nats', natsTarget);

(up ? describe : describe.skip)('nats adapter specifics', () => {
  const run = { id: `n${Date.now().toString(36)}`, replica: 0 };
  afterAll(() => natsTarget.cleanup!(run, []));

  it('stores a re-published event once (Nats-Msg-Id = event id inside the duplicate window)', async () => {
    const a = new NatsAdapter({
      servers: `nats://127.0.0.1:${NATS_PORT}`,
      stream: `SC_${run.id}`,
      subjectPrefix: `sc${run.id}`,
    });
    await a.connect();
    try {
      const got: string[] = [];
      const c = await a.subscribe(
        { name: 'dedup', patterns: ['dedup/>'], maxInFlight: 8 },
        async (m) => void got.push(m.id),
      );
      const event = (id: string) => ({ id, topic: 'dedup/x', body: Buffer.from(id) });
      await a.publish([event('d-1'), event('d-2')]);
      await a.publish([event('d-1'), event('d-2'), event('d-3')]); // a replay after an unclear failure
      await waitFor(() => got.includes('d-3'), 'd-3');
      await c.close();
      expect(got).toEqual(['d-1', 'd-2', 'd-3']);
    } finally {
      await a.close();
    }
  });

  it("keeps a slow handler's event from being redelivered while it is still working", async () => {
    const a = new NatsAdapter({
      servers: `nats://127.0.0.1:${NATS_PORT}`,
      stream: `SC_${run.id}`,
      subjectPrefix: `sc${run.id}`,
      ackWaitMs: 400,
    });
    await a.connect();
    try {
      const got: ReceivedMessage[] = [];
      let done = false;
      const c = await a.subscribe({ name: 'slow', patterns: ['slow/>'], maxInFlight: 4 }, async (m) => {
        got.push(m);
        await sleep(1_500); // several ack waits long
        done = true;
      });
      await a.publish([{ id: 'slow-1', topic: 'slow/x', body: Buffer.from('{}') }]);
      await waitFor(() => done, 'the slow handler');
      await sleep(500); // one more ack wait: a redelivery would show up now
      await c.close();
      expect(got.map((m) => [m.id, m.deliveryCount])).toEqual([['slow-1', 1]]);
    } finally {
      await a.close();
    }
  });
});
