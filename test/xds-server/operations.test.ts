// Push pipeline: coalescing (a burst of changes reaches a stream as its latest state, not one
// response per change) and admission of new streams under the per-second cap.
import { afterEach, describe, expect, it } from '@jest/globals';
import { sotwAck, sotwStream } from './ads-client.js';
import {
  endpoints,
  ENVOY_NODE,
  fleet,
  route,
  startServer,
  stopServers,
  TYPE,
  type GroupResources,
  type Running,
} from './fixtures.js';

let running: Running | undefined;
afterEach(stopServers);

const group = (port: number): { g: GroupResources } => ({
  g: {
    [TYPE.endpoint]: { a: endpoints('a', [port]) },
    [TYPE.route]: { barrier: route('barrier', '*', 'a') },
  },
});

describe('push pipeline', () => {
  it('coalesces a burst of changes into the latest state', async () => {
    running = await startServer(group(1000));
    const s = sotwStream(running.client);
    s.send({ node: ENVOY_NODE('n1'), type_url: TYPE.endpoint, resource_names: ['a'] });
    s.send(sotwAck(await s.next(), ['a']));
    s.send({ type_url: TYPE.route, resource_names: ['barrier'] });
    await s.next(); // the ACK above has been processed
    for (let port = 1001; port <= 1010; port++) running.cache.setFleet(fleet(group(port)));
    const latest = running.cache.get('g', TYPE.endpoint).version;
    const first = await s.next(); // the push already under way when the burst began
    const versions = [first.version_info];
    if (first.version_info !== latest) {
      // The next push waits for this ACK (one response in flight per type), then carries the newest.
      s.send(sotwAck(first, ['a']));
      versions.push((await s.next()).version_info);
    }
    expect(versions.at(-1)).toBe(latest);
    expect(versions.length).toBeLessThanOrEqual(2); // not one response per change
    s.send({ type_url: TYPE.route, resource_names: [] });
    s.send({ type_url: TYPE.route, resource_names: ['barrier'] });
    expect((await s.next()).type_url).toBe(TYPE.route); // nothing else was queued
    s.close();
  });

  it('admits new streams at the configured rate; a reconnect storm waits instead of failing', async () => {
    running = await startServer(group(1000), { newStreamsPerSecond: 20, newStreamBurst: 1 });
    const streams = Array.from({ length: 4 }, (_, i) => {
      const s = sotwStream(running!.client);
      s.send({ node: ENVOY_NODE(`n${i}`), type_url: TYPE.endpoint, resource_names: ['a'] });
      return s;
    });
    const answers = await Promise.all(streams.map((s) => s.next()));
    expect(answers.map((a) => a.type_url)).toEqual(Array(4).fill(TYPE.endpoint));
    expect((await running.server.metrics.throttledStreams.get()).values[0]?.value).toBeGreaterThanOrEqual(2);
    for (const s of streams) s.close();
  });
});
