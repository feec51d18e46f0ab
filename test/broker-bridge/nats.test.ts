import { describe, it } from '@jest/globals';
import { brokerReachable } from './broker-env.js';
import { runConformance } from './conformance.js';
import { NATS_PORT, natsTarget } from './targets.js';

if (await brokerReachable('NATS JetStream', NATS_PORT)) runConformance('nats', natsTarget);
else describe('nats adapter conformance', () => it.skip('NATS JetStream not reachable', () => {}));
