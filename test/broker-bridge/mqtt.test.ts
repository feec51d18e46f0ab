import { describe, it } from '@jest/globals';
import { brokerReachable } from './broker-env.js';
import { runConformance } from './conformance.js';
import { MQTT_PORT, mqttTargetFor } from './targets.js';

if (await brokerReachable('Mosquitto (MQTT)', MQTT_PORT)) {
  runConformance('mqtt (MQTT 5)', mqttTargetFor(5));
  runConformance('mqtt (MQTT 3.1.1)', mqttTargetFor(4));
} else describe('mqtt adapter conformance', () => it.skip('Mosquitto (MQTT) not reachable', () => {}));
