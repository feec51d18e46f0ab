// THE shared conformance suite: every broker adapter (embedded, NATS, RabbitMQ, MQTT, Kafka) runs
// it from its own test file with `runConformance(name, target)`. It checks the contract of
// broker-bridge/brokers/types.ts against the real broker: exact round trip, sidecast wildcard
// semantics (incl. the zero-level match MQTT/AMQP '#' would let through), competing consumers,
// redelivery on handler rejection, durability while detached, refusal of unrepresentable topics
// and a clean close. Each call of `target.make` is one bridge replica (its own connection).
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BrokerUnavailableError,
  UnrepresentableTopicError,
  type BrokerAdapter,
  type BrokerMessage,
  type Consumer,
  type ConsumerSpec,
  type ReceivedMessage,
} from '../../broker-bridge/brokers/types.js';

export interface RunInfo {
  /** Unique per suite run, [a-z0-9] only: use it in stream/exchange/prefix names. */
  id: string;
  /** 0, 1, ... : which replica this adapter plays (stable ids matter for MQTT sessions). */
  replica: number;
}

export interface ConformanceTarget {
  /** A fresh, not yet connected adapter for this run (one bridge replica). */
  make(run: RunInfo): BrokerAdapter | Promise<BrokerAdapter>;
  /** Topics this broker must refuse, with the level the error has to name. Empty: it must carry them all. */
  unrepresentable: Array<{ topic: string; level: string }>;
  /** Removes what the run left on the broker; gets the consumer names the suite used. */
  cleanup?(run: RunInfo, consumerNames: string[]): Promise<void>;
  /** False where competing consumers split work only across partitions (Kafka with 1 partition). */
  sharesWorkOnOneTopic?: boolean;
}

/** Topics the suite publishes when a broker declares nothing unrepresentable. */
const AWKWARD_TOPICS = ['awk/v1.2/x', 'awk/a+b/x', 'awk/#/x', 'awk/$x/x', 'awk/é/x'];

const WAIT_MS = 20_000;

class Inbox {
  readonly got: ReceivedMessage[] = [];
  private wake: Array<() => void> = [];
  constructor(private readonly before?: (m: ReceivedMessage) => Promise<void>) {}

  readonly handler = async (m: ReceivedMessage): Promise<void> => {
    this.got.push(m);
    this.wake.splice(0).forEach((w) => w());
    if (this.before) await this.before(m);
  };

  ids(): string[] {
    return this.got.map((m) => m.id);
  }

  /** Waits (bounded) until `done` holds; the failure message says what was missing. */
  async until(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!done()) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; received ${JSON.stringify(this.got.map((m) => [m.id, m.topic, m.deliveryCount]))}`,
        );
      await Promise.race([new Promise<void>((r) => this.wake.push(r)), sleep(200)]);
    }
  }
}

/** The structured CloudEvent a bridge would publish (partitionkey mirrors BrokerMessage.key). */
function body(id: string, key?: string): Uint8Array {
  const ce = {
    specversion: '1.0',
    id,
    source: '//conformance',
    type: 'test.v1',
    ...(key === undefined ? {} : { partitionkey: key }),
    data: { id },
  };
  return new TextEncoder().encode(JSON.stringify(ce));
}

function msg(id: string, topic: string, key?: string): BrokerMessage {
  return key === undefined ? { id, topic, body: body(id) } : { id, topic, key, body: body(id, key) };
}

export function runConformance(name: string, target: ConformanceTarget): void {
  const runId = `c${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const consumerNames = new Set<string>();
  const opened: Array<BrokerAdapter | Consumer> = [];

  async function adapter(replica = 0): Promise<BrokerAdapter> {
    const a = await target.make({ id: runId, replica });
    opened.push(a);
    await a.connect();
    return a;
  }
  async function consume(a: BrokerAdapter, spec: ConsumerSpec, inbox: Inbox): Promise<Consumer> {
    consumerNames.add(spec.name);
    const c = await a.subscribe(spec, inbox.handler);
    opened.push(c);
    return c;
  }
  const root = (test: string): string => `${runId}/${test}`;

  describe(`${name} adapter conformance`, () => {
    afterEach(async () => {
      // Consumers first, then adapters; closing twice must be harmless.
      for (const o of opened.splice(0).reverse()) await o.close();
    });
    afterAll(async () => {
      await target.cleanup?.({ id: runId, replica: 0 }, [...consumerNames]);
    });

    it('reports connected only between connect() and close()', async () => {
      const a = await target.make({ id: runId, replica: 0 });
      opened.push(a);
      expect(a.isConnected()).toBe(false);
      await a.connect();
      expect(a.isConnected()).toBe(true);
      await a.close();
      expect(a.isConnected()).toBe(false);
    });

    it('reads a published batch back with exact ids, topics, keys and bodies, in order', async () => {
      const a = await adapter();
      const inbox = new Inbox();
      await consume(a, { name: 'roundtrip', patterns: [`${root('rt')}/>`], maxInFlight: 8 }, inbox);
      const batch = Array.from({ length: 25 }, (_, i) =>
        msg(`rt-${i}`, `${root('rt')}/item/${i % 4}`, i % 3 === 0 ? undefined : `key-${i % 5}`),
      );
      await a.publish(batch);
      await inbox.until(() => inbox.got.length >= batch.length, 'all 25 events');
      expect(inbox.ids()).toEqual(batch.map((m) => m.id));
      for (const [i, m] of inbox.got.entries()) {
        expect({ id: m.id, topic: m.topic, key: m.key, deliveryCount: m.deliveryCount }).toEqual({
          id: batch[i]!.id,
          topic: batch[i]!.topic,
          key: batch[i]!.key,
          deliveryCount: 1,
        });
        expect(Buffer.from(m.body).equals(Buffer.from(batch[i]!.body))).toBe(true);
      }
    });

    it('applies "*" and ">" with sidecast semantics and never delivers the zero-level match', async () => {
      const a = await adapter();
      const r = root('wild');
      const inbox = new Inbox();
      await consume(a, { name: 'wildcards', patterns: [`${r}/a/*`, `${r}/b/>`], maxInFlight: 4 }, inbox);
      const topics = [
        `${r}/a`,
        `${r}/a/x`,
        `${r}/a/x/y`,
        `${r}/b`,
        `${r}/b/x`,
        `${r}/b/x/y`,
        `${r}/c/x`,
        `${r}/bb/x`,
      ];
      await a.publish(topics.map((t, i) => msg(`w-${i}`, t)));
      await a.publish([msg('w-end', `${r}/b/end`)]); // sentinel: everything before it has been decided
      await inbox.until(() => inbox.ids().includes('w-end'), 'the sentinel');
      expect(inbox.got.map((m) => m.topic).sort()).toEqual(
        [`${r}/a/x`, `${r}/b/x`, `${r}/b/x/y`, `${r}/b/end`].sort(),
      );
    });

    it('shares the work between two replicas of the same consumer without losing any', async () => {
      const [a, b] = [await adapter(0), await adapter(1)];
      const slow = (): Promise<void> => sleep(5).then(() => undefined);
      const [ia, ib] = [new Inbox(slow), new Inbox(slow)];
      const spec = { name: 'competing', patterns: [`${root('cc')}/>`], maxInFlight: 2 };
      await consume(a, spec, ia);
      await consume(b, spec, ib);
      const batch = Array.from({ length: 40 }, (_, i) =>
        msg(`cc-${i}`, `${root('cc')}/n/${i % 3}`, `k${i % 4}`),
      );
      await a.publish(batch);
      const union = (): Set<string> => new Set([...ia.ids(), ...ib.ids()]);
      await ia.until(() => union().size === batch.length, 'all 40 events across both replicas');
      expect([...union()].sort()).toEqual(batch.map((m) => m.id).sort());
      if (target.sharesWorkOnOneTopic !== false) {
        expect(ia.got.length).toBeGreaterThan(0);
        expect(ib.got.length).toBeGreaterThan(0);
      }
    });

    it('redelivers an event whose handler rejected, with deliveryCount > 1', async () => {
      const a = await adapter();
      const failedOnce = new Set<string>();
      const inbox = new Inbox(async (m) => {
        if (!failedOnce.has(m.id)) {
          failedOnce.add(m.id);
          throw new Error('handler refuses the first delivery');
        }
      });
      await consume(a, { name: 'redeliver', patterns: [`${root('rd')}/*`], maxInFlight: 4 }, inbox);
      await a.publish([msg('rd-0', `${root('rd')}/x`), msg('rd-1', `${root('rd')}/y`)]);
      await inbox.until(
        () => ['rd-0', 'rd-1'].every((id) => inbox.got.some((m) => m.id === id && m.deliveryCount > 1)),
        'both redeliveries',
      );
      for (const id of ['rd-0', 'rd-1']) {
        const counts = inbox.got.filter((m) => m.id === id).map((m) => m.deliveryCount);
        expect(counts[0]).toBe(1);
        expect(counts[counts.length - 1]).toBeGreaterThan(1);
      }
    });

    it('counts every delivery of an event that keeps being rejected', async () => {
      const a = await adapter();
      const inbox = new Inbox(async (m) => {
        if (m.deliveryCount < 4) throw new Error(`handler refuses delivery ${m.deliveryCount}`);
      });
      await consume(a, { name: 'counting', patterns: [`${root('dc')}/>`], maxInFlight: 1 }, inbox);
      await a.publish([msg('dc-0', `${root('dc')}/x`)]);
      await inbox.until(() => inbox.got.some((m) => m.deliveryCount >= 4), 'the fourth delivery');
      expect(inbox.got.map((m) => m.deliveryCount)).toEqual([1, 2, 3, 4]);
    });

    it('keeps events published while the consumer is detached and delivers them when it attaches', async () => {
      const a = await adapter();
      const spec = { name: 'durable', patterns: [`${root('du')}/>`], maxInFlight: 4 };
      const first = await consume(a, spec, new Inbox());
      await first.close();
      const batch = Array.from({ length: 5 }, (_, i) => msg(`du-${i}`, `${root('du')}/e/${i}`));
      await a.publish(batch);
      await a.close();
      // A new adapter plays the restarted bridge replica.
      const inbox = new Inbox();
      await consume(await adapter(0), spec, inbox);
      await inbox.until(
        () => batch.every((m) => inbox.ids().includes(m.id)),
        'the 5 events published while detached',
      );
      expect([...new Set(inbox.ids())].sort()).toEqual(batch.map((m) => m.id).sort());
    });

    it('refuses unrepresentable topics, naming the level, and publishes nothing of such a batch', async () => {
      const a = await adapter();
      const r = root('un');
      const inbox = new Inbox();
      await consume(a, { name: 'unrepresentable', patterns: [`${r}/>`], maxInFlight: 4 }, inbox);
      if (target.unrepresentable.length === 0) {
        // A broker that claims to carry everything must round-trip the topics others refuse.
        const batch = AWKWARD_TOPICS.map((t, i) => msg(`aw-${i}`, `${r}/${t}`));
        await a.publish(batch);
        await inbox.until(() => inbox.got.length >= batch.length, 'the awkward topics');
        expect(inbox.got.map((m) => m.topic)).toEqual(batch.map((m) => m.topic));
        return;
      }
      for (const { topic, level } of target.unrepresentable) {
        const good = msg(`un-good-${level}`, `${r}/ok`);
        const attempt = a.publish([good, msg('un-bad', `${r}/${topic}`)]);
        await expect(attempt).rejects.toThrow(UnrepresentableTopicError);
        await expect(attempt).rejects.toThrow(JSON.stringify(level));
        await expect(
          a.subscribe({ name: 'never', patterns: [`${r}/${topic}`], maxInFlight: 1 }, async () => {}),
        ).rejects.toThrow(UnrepresentableTopicError);
      }
      await a.publish([msg('un-end', `${r}/end`)]);
      await inbox.until(() => inbox.ids().includes('un-end'), 'the sentinel');
      expect(inbox.ids()).toEqual(['un-end']);
    });

    it('stops delivering after Consumer.close() and refuses work after close()', async () => {
      const a = await adapter();
      const r = root('cl');
      const closed = new Inbox();
      const c = await consume(a, { name: 'closing', patterns: [`${r}/>`], maxInFlight: 4 }, closed);
      await c.close();
      const witness = new Inbox();
      await consume(a, { name: 'witness', patterns: [`${r}/>`], maxInFlight: 4 }, witness);
      await a.publish([msg('cl-0', `${r}/x`)]);
      await witness.until(() => witness.ids().includes('cl-0'), 'the witness delivery');
      expect(closed.got).toHaveLength(0);
      await a.close();
      expect(a.isConnected()).toBe(false);
      await expect(a.publish([msg('cl-1', `${r}/x`)])).rejects.toThrow(BrokerUnavailableError);
      await expect(
        a.subscribe({ name: 'late', patterns: [`${r}/>`], maxInFlight: 1 }, async () => {}),
      ).rejects.toThrow(BrokerUnavailableError);
    });
  });
}
