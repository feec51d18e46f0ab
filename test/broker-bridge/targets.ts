// How the test suites build each real-broker adapter (conformance and fault tests share these).
// Short redelivery and publish timeouts keep the suites quick; names are unique per run.
import { NatsAdapter } from '../../broker-bridge/brokers/nats/adapter.js';
import { connect } from 'nats';
import type { ConformanceTarget, RunInfo } from './conformance.js';

export const NATS_PORT = 4222;

export function natsAdapter(run: RunInfo, port = NATS_PORT): NatsAdapter {
  return new NatsAdapter({
    servers: `nats://127.0.0.1:${port}`,
    stream: `SC_${run.id}`,
    subjectPrefix: `sc${run.id}`,
    publishTimeoutMs: 2_000,
    redeliveryDelayMs: 100,
    ackWaitMs: 5_000,
    reconnect: { initialMs: 50, maxMs: 500 },
    pingIntervalMs: 2_000,
  });
}

export const natsTarget: ConformanceTarget = {
  make: (run) => natsAdapter(run),
  unrepresentable: [{ topic: 'v1.2/x', level: 'v1.2' }],
  async cleanup(run) {
    const nc = await connect({ servers: `nats://127.0.0.1:${NATS_PORT}` });
    try {
      await (await nc.jetstreamManager()).streams.delete(`SC_${run.id}`);
    } finally {
      await nc.close();
    }
  },
};
