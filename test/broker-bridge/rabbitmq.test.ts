import { describe, it } from '@jest/globals';
import { brokerReachable } from './broker-env.js';
import { runConformance } from './conformance.js';
import { RABBITMQ_PORT, rabbitTarget } from './targets.js';

if (await brokerReachable('RabbitMQ', RABBITMQ_PORT)) runConformance('rabbitmq', rabbitTarget);
else describe('rabbitmq adapter conformance', () => it.skip('RabbitMQ not reachable', () => {}));
