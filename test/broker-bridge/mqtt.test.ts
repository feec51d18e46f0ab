import { describe, it } from '@jest/globals';
import { brokerReachable } from './broker-env.js';
import { runConformance } from './conformance.js';
import { MQTT_PORT, mqttTarget } from './targets.js';

if (await brokerReachable('Mosquitto (MQTT)', MQTT_PORT)) runConformance('mqtt', mqttTarget);
else describe('mqtt adapter conformance', () => it.skip('Mosquitto (MQTT) not reachable', () => {}));
