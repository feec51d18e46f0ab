// NATS outage fault suite (issue 12 items 6, 7): the shared nats-server stays up; the bridge reaches
// it through a TCP proxy that the test cuts and restores.
// - An in-flight batch fails at once when the connection drops (not after publishTimeoutMs) and the
//   publisher spools it.
// - 10k events are ingested over HTTP while NATS goes away and comes back: every event answered 2xx
//   is in the stream exactly once, and the spool drain starts on the client's reconnect event, after
//   NATS is reachable again (an ordering of events; the time it took is printed, not asserted).
import { afterEach, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createBridge } from '../../broker-bridge/index.js';
import { NatsAdapter } from '../../broker-bridge/brokers/nats/adapter.js';
import { BrokerUnavailableError } from '../../broker-bridge/brokers/types.js';
import { BridgeMetrics } from '../../broker-bridge/admin/metrics.js';
import { Publisher } from '../../broker-bridge/publisher/publisher.js';
import { Spool } from '../../broker-bridge/spool/spool.js';
import { brokerReachable } from './broker-env.js';
import { event, removeDir, tap, tempDir, testConfig } from './ingest-fixture.js';
import { NATS_PORT, natsTarget } from './targets.js';
import { TcpProxy } from './tcp-proxy.js';

const WAIT_MS = 60_000;
async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A NatsAdapter on the proxy with production reconnect and PubAck timeouts unless told otherwise. */
function adapterVia(proxy: TcpProxy, id: string, publishTimeoutMs?: number): NatsAdapter {
  return new NatsAdapter({
    servers: `nats://127.0.0.1:${proxy.port}`,
    stream: `SC_${id}`,
    subjectPrefix: `sc${id}`,
    publishTimeoutMs,
  });
}

async function streamMessages(id: string): Promise<number> {
  const nc = await connect({ servers: `nats://127.0.0.1:${NATS_PORT}` });
  try {
    return (await (await jetstreamManager(nc)).streams.info(`SC_${id}`)).state.messages;
  } finally {
    await nc.close();
  }
}

/** pino writing JSON lines into `entries`, stamped with performance.now() as they are logged. */
function recordingLogger(entries: Array<{ msg: string; at: number; [k: string]: unknown }>) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) entries.push({ ...(JSON.parse(line) as { msg: string }), at: performance.now() });
      cb();
    },
  });
  return pino({ level: 'info' }, sink);
}

if (await brokerReachable('NATS JetStream', NATS_PORT)) {
  describe('NATS outage', () => {
    it('fails an in-flight batch at once when the connection drops and spools it, instead of waiting for publishTimeoutMs', async () => {
      const id = `no${Date.now().toString(36)}a`;
      const run = { id, replica: 0 };
      closers.push(() => natsTarget.cleanup!(run, []));
      const proxy = await new TcpProxy(NATS_PORT).start();
      closers.push(() => proxy.stop());
      // A PubAck timeout far beyond the test's own: only the disconnect can settle the batch.
      const adapter = adapterVia(proxy, id, 10 * 60_000);
      closers.push(() => adapter.close());
      await adapter.connect();
      const m = (n: string) => ({ id: n, topic: `t/${n}`, body: Buffer.from(n) });

      proxy.blackhole();
      const pending = adapter.publish([m('in-flight-1'), m('in-flight-2')]);
      await proxy.cut();
      await expect(pending).rejects.toThrow(BrokerUnavailableError);
      await expect(pending).rejects.toThrow(/2 of 2 events not acknowledged.*connection to NATS lost/);

      // The same through the publisher: the producer's submission is accepted into the spool.
      await proxy.restore();
      await until('the adapter to reconnect', () => adapter.isConnected());
      const dir = await tempDir();
      closers.push(() => removeDir(dir));
      const spool = await Spool.open(dir);
      closers.push(() => spool.close());
      const publisher = new Publisher(adapter, spool, new BridgeMetrics(), { warn: () => {} });
      closers.push(() => publisher.drain());
      proxy.blackhole();
      const submitted = publisher.submit([m('spooled-1'), m('spooled-2'), m('spooled-3')]);
      await proxy.cut();
      expect(await submitted).toEqual([null, null, null]);
      expect(spool.depth).toBe(3);
      await proxy.restore();
      await until('the spool to drain', () => spool.depth === 0);
      expect(await streamMessages(id)).toBe(3); // whatever reached the stream before the cut is deduplicated
    });

    it('10k events through a NATS outage: every 2xx-accepted event in the stream exactly once; the drain starts on the reconnect event', async () => {
      const id = `no${Date.now().toString(36)}b`;
      const run = { id, replica: 0 };
      closers.push(() => natsTarget.cleanup!(run, []));
      const proxy = await new TcpProxy(NATS_PORT).start();
      closers.push(() => proxy.stop());
      const broker = adapterVia(proxy, id);
      closers.push(() => broker.close());

      const timeline: Array<{ what: string; at: number }> = [];
      const mark = (what: string): void => void timeline.push({ what, at: performance.now() });
      broker.onReconnect(() => mark('client reconnected'));
      const logs: Array<{ msg: string; at: number; [k: string]: unknown }> = [];
      const dir = await tempDir();
      closers.push(() => removeDir(dir));
      // Production publisher backoff (100 ms doubling to 5 s): a timer-started drain would show.
      const bridge = await createBridge(
        testConfig(dir, (c) => {
          c.publisher = {};
          c.grpc = null;
          c.admin = null;
        }),
        { broker, logger: recordingLogger(logs) },
      );
      await bridge.start();
      closers.push(() => bridge.stop());
      const url = `http://127.0.0.1:${bridge.ports.http}/v1/events`;

      const TOTAL = 10_000;
      const BATCH = 100;
      const batches = TOTAL / BATCH;
      let cutDone!: () => void;
      let restored!: () => void;
      const cutGate = new Promise<void>((r) => (cutDone = r));
      const restoreGate = new Promise<void>((r) => (restored = r));
      const accepted = new Set<string>();
      let refused = 0;
      let next = 0;
      let sentBeforeRestore = 0;
      const sender = async (): Promise<void> => {
        for (let b = next++; b < batches; b = next++) {
          if (b >= batches * 0.2) await cutGate; // first 20% while NATS is there
          if (b >= batches * 0.6) await restoreGate; // 40% while it is away, the rest after
          const evs = Array.from({ length: BATCH }, (_, i) => event({ id: `${id}-${b * BATCH + i}` }));
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/cloudevents-batch+json' },
            body: JSON.stringify(evs),
          });
          const body = (await res.json()) as { results?: Array<{ id: string; status: string }> };
          if (res.status >= 200 && res.status < 300) {
            for (const r of body.results ?? []) if (r.status === 'accepted') accepted.add(r.id);
          } else refused += BATCH;
          if (b < batches * 0.6) sentBeforeRestore++;
        }
      };
      const senders = Promise.all([sender(), sender(), sender(), sender()]);

      await until('the first 20% accepted', () => accepted.size >= TOTAL * 0.2);
      await proxy.cut();
      mark('broker cut');
      await until('the client to notice', () => !broker.isConnected());
      mark('client disconnected');
      cutDone();
      // Away long enough that the replay loop is deep in its backoff (its 5th wait is 1.6 s).
      const failures = (): number => logs.filter((l) => l.msg === 'spool replay failed').length;
      await until('40% more ingested during the outage', () => sentBeforeRestore >= batches * 0.6);
      await until('the replay loop to back off', () => failures() >= 5);
      expect(bridge.spoolDepth()).toBeGreaterThan(0);
      await proxy.restore();
      mark('broker reachable');
      restored();
      await senders;
      await until('the spool to drain', () => bridge.spoolDepth() === 0);

      const drain = logs.find((l) => l.msg === 'spool replay resumed');
      expect(drain).toBeDefined();
      mark('drain started');
      // The log line comes once the first replayed batch is committed; the drain began before it.
      timeline[timeline.length - 1]!.at = drain!.at - (drain!.firstBatchMs as number);
      timeline.sort((a, b) => a.at - b.at);
      expect(timeline.map((t) => t.what)).toEqual([
        'broker cut',
        'client disconnected',
        'broker reachable',
        'client reconnected',
        'drain started',
      ]);
      expect(drain!.trigger).toBe('reconnect'); // woken by the client's reconnect, not its backoff timer
      const reconnectedAt = timeline.find((t) => t.what === 'client reconnected')!.at;
      expect(logs.filter((l) => l.msg === 'spool replay failed' && l.at > reconnectedAt)).toEqual([]);

      expect(refused).toBe(0);
      expect(accepted.size).toBe(TOTAL);
      const reader = new NatsAdapter({
        servers: `nats://127.0.0.1:${NATS_PORT}`,
        stream: `SC_${id}`,
        subjectPrefix: `sc${id}`,
        startAt: 'all',
      });
      await reader.connect();
      closers.push(() => reader.close());
      const t = await tap(reader, `all-${id}`, 'acme/>');
      closers.push(() => t.close());
      await until('every event read back', () => t.got.length >= accepted.size);
      expect(await streamMessages(id)).toBe(accepted.size); // exactly once: no duplicate stored
      expect(new Set(t.got.map((m) => m.id))).toEqual(accepted);

      const at = (what: string): number => timeline.find((x) => x.what === what)!.at;
      console.log(
        `nats outage: drain started ${Math.round(at('drain started') - at('broker reachable'))} ms after NATS was reachable again ` +
          `(client reconnect after ${Math.round(reconnectedAt - at('broker reachable'))} ms, outage ` +
          `${Math.round(at('broker reachable') - at('broker cut'))} ms, ${failures()} failed replay attempts); ` +
          `${accepted.size} of ${TOTAL} events accepted, first replayed batch took ${String(drain!.firstBatchMs)} ms, ${String(drain!.spoolDepth)} still spooled after it`,
      );
    }, 120_000);
  });
} else {
  describe('NATS outage', () => it.skip('NATS JetStream not reachable', () => {}));
}
