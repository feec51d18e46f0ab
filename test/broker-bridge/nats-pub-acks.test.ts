// PubAckPipeline (the NATS adapter's publish path) against a real JetStream: a batch reports exactly
// the messages the stream did not store, and why.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { PubAckPipeline } from '../../broker-bridge/brokers/nats/pub-acks.js';
import { brokerReachable } from './broker-env.js';
import { NATS_PORT } from './targets.js';

const up = await brokerReachable('NATS JetStream', NATS_PORT);

(up ? describe : describe.skip)('nats PubAckPipeline', () => {
  const tag = `pa${Date.now().toString(36)}`;
  const stream = `SC_${tag}`;
  let nc: NatsConnection;
  const body = (s: string) => Buffer.from(s);

  beforeAll(async () => {
    nc = await connect({ servers: `nats://127.0.0.1:${NATS_PORT}` });
    await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [`${tag}.>`] });
  });
  afterAll(async () => {
    await (await jetstreamManager(nc)).streams.delete(stream);
    await nc.close();
  });

  it('resolves with no failures once every message is stored, duplicates included', async () => {
    const pipe = new PubAckPipeline(nc, stream);
    const batch = ['a', 'b', 'c'].map((id) => ({
      subject: `${tag}.ok`,
      id,
      body: body(id),
      headers: { 'Sidecast-Key': `k-${id}` },
    }));
    expect(await pipe.publish(batch, 2_000)).toEqual([]);
    expect(await pipe.publish(batch.slice(0, 1), 2_000)).toEqual([]); // a duplicate is acknowledged too
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    expect(info.state.messages).toBe(3);
    const m = await (await jetstreamManager(nc)).streams.getMessage(stream, { seq: 2 });
    expect(m?.header.get('Nats-Msg-Id')).toBe('b');
    expect(m?.header.get('Sidecast-Key')).toBe('k-b');
    pipe.close();
  });

  it('names the subject no stream listens on, and keeps the rest of the batch', async () => {
    const pipe = new PubAckPipeline(nc, stream);
    const failures = await pipe.publish(
      [
        { subject: `${tag}.ok`, id: 'n-1', body: body('1') },
        { subject: `nobody${tag}.here`, id: 'n-2', body: body('2') },
      ],
      2_000,
    );
    expect(failures).toEqual([
      { subject: `nobody${tag}.here`, reason: expect.stringMatching(/no stream listens on "nobody.*503/) },
    ]);
    pipe.close();
  });

  it("reports the server's refusal when the subject belongs to another stream", async () => {
    const pipe = new PubAckPipeline(nc, 'SOME_OTHER_STREAM');
    const [f, ...rest] = await pipe.publish([{ subject: `${tag}.ok`, id: 'w-1', body: body('w') }], 2_000);
    expect(rest).toEqual([]);
    expect(f!.reason).toMatch(/expected stream does not match.*err_code 10060/i);
    pipe.close();
  });

  it('fails what got no PubAck within the timeout', async () => {
    const silent = nc.subscribe(`silent${tag}.x`); // a listener that never answers: no 503, no PubAck
    const pipe = new PubAckPipeline(nc, stream);
    expect(await pipe.publish([{ subject: `silent${tag}.x`, id: 't-1', body: body('t') }], 200)).toEqual([
      { subject: `silent${tag}.x`, reason: 'no PubAck within 200ms' },
    ]);
    silent.unsubscribe();
    pipe.close();
  });

  it('fails what is still waiting when closed', async () => {
    const pipe = new PubAckPipeline(nc, stream);
    const pending = pipe.publish([{ subject: `${tag}.ok`, id: 'c-1', body: body('c') }], 2_000);
    pipe.close(); // same tick: the PubAck cannot have arrived yet
    expect(await pending).toEqual([
      { subject: `${tag}.ok`, reason: 'connection closed before the stream acknowledged' },
    ]);
  });
});
