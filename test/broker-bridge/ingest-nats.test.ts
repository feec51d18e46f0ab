// Ingest into real NATS JetStream: accepted events are in the stream, and an event whose topic NATS
// cannot carry is rejected on its own with the adapter's reason while the rest of its batch goes in.
import { afterAll, describe, expect, it } from '@jest/globals';
import { NatsAdapter } from '../../broker-bridge/brokers/nats/adapter.js';
import { brokerReachable } from './broker-env.js';
import { event, removeDir, startBridge, tap } from './ingest-fixture.js';
import { NATS_PORT, natsTarget } from './targets.js';

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

if (await brokerReachable('NATS JetStream', NATS_PORT)) {
  describe('HTTP ingest into NATS JetStream', () => {
    it('publishes the representable events of a batch and rejects the others as event #N (207; 422 alone)', async () => {
      const run = { id: `in${Date.now().toString(36)}`, replica: 0 };
      closers.push(() => natsTarget.cleanup!(run, []));
      const nats = { stream: `SC_${run.id}`, subjectPrefix: `sc${run.id}`, publishTimeoutMs: 2000 };
      const b = await startBridge({
        edit: (c) => ((c.broker.url = `nats://127.0.0.1:${NATS_PORT}`), (c.broker.options = { nats })),
      });
      closers.push(() => removeDir(b.dir));
      closers.push(() => b.stop());
      const reader = new NatsAdapter({ servers: `nats://127.0.0.1:${NATS_PORT}`, ...nats, startAt: 'all' });
      await reader.connect();
      closers.push(() => reader.close());

      const good = [event(), event({ topic: 'acme/bank/account/closed/v1', partitionkey: 'acct-1' })];
      const dotted = event({ topic: 'acme/bank/v1.2/opened' });
      const r = await b.post([good[0], dotted, good[1]]);
      expect(r.status).toBe(207);
      expect(r.json.results[0]).toEqual({ id: good[0]!.id, status: 'accepted' });
      expect(r.json.results[1]!.status).toBe('rejected');
      expect(r.json.results[1]!.reason).toMatch(
        /^event #1: nats cannot carry topic "acme\/bank\/v1.2\/opened"/,
      );
      expect(r.json.results[2]).toEqual({ id: good[1]!.id, status: 'accepted' });

      const t = await tap(reader, `read-${run.id}`, 'acme/>');
      closers.push(() => t.close());
      await t.until(2);
      expect(t.got.map((m) => [m.id, m.topic, m.key])).toEqual(
        good.map((e) => [e.id, e.topic, e.partitionkey]),
      );
      const single = await b.post(event({ topic: 'acme/bank/v1.3/opened' }), {
        'content-type': 'application/cloudevents+json',
      });
      expect(single.status).toBe(422);
      expect(single.json.error).toMatch(/^event: nats cannot carry topic "acme\/bank\/v1.3\/opened"/);
      const metrics = await (await fetch(`http://127.0.0.1:${b.bridge.ports.admin}/metrics`)).text();
      expect(metrics).toMatch(/sidecast_bridge_events_rejected_total\{reason="unrepresentable"\} 2/);
    });
  });
} else {
  describe('HTTP ingest into NATS JetStream', () => it.skip('NATS JetStream not reachable', () => {}));
}
