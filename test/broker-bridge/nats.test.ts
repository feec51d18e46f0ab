import { afterAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { NatsAdapter } from '../../broker-bridge/brokers/nats/adapter.js';
import type { ReceivedMessage } from '../../broker-bridge/brokers/types.js';
import { brokerReachable } from './broker-env.js';
import { runConformance } from './conformance.js';
import { NATS_PORT, natsTarget } from './targets.js';

const up = await brokerReachable('NATS JetStream', NATS_PORT);
if (up) runConformance('nats', natsTarget);

(up ? describe : describe.skip)('nats adapter specifics', () => {
  const run = { id: `n${Date.now().toString(36)}`, replica: 0 };
  afterAll(() => natsTarget.cleanup!(run, []));

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
      while (!done) await sleep(50);
      await sleep(500); // one more ack wait: a redelivery would show up now
      await c.close();
      expect(got.map((m) => [m.id, m.deliveryCount])).toEqual([['slow-1', 1]]);
    } finally {
      await a.close();
    }
  });
});
