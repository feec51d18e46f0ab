// A JetStream stream of its own for one test run or bench: durable consumers and events of earlier
// runs never pile up on the shared SIDECAST stream (each durable consumer costs the server work per
// message), and `remove()` deletes it all afterwards.
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsAdapterOptions } from '../../broker-bridge/brokers/nats/options.js';

export interface ScratchStream {
  options: Pick<NatsAdapterOptions, 'stream' | 'subjectPrefix'>;
  remove(): Promise<void>;
}

export function scratchStream(run: string, servers = 'nats://127.0.0.1:4222'): ScratchStream {
  const tag = run.replace(/[^A-Za-z0-9]/g, '');
  const stream = `SC_SCRATCH_${tag}`;
  return {
    options: { stream, subjectPrefix: `scratch${tag}` },
    async remove() {
      const nc = await connect({ servers });
      try {
        await (await jetstreamManager(nc)).streams.delete(stream);
      } catch {
        // never created (the run failed before publishing): nothing to remove
      } finally {
        await nc.close();
      }
    },
  };
}
