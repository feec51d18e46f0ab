// `sidecast.v1.EventContract` xDS resource → a compiled EventContract, or an Error naming the
// resource and the field (the NACK's error_detail).
import { parseTopic } from '../../common/topic.js';
import { decodeEventContract } from '../../proto/sidecast.js';
import { compileSchema, type EventContract, type SchemaPolicy } from './contract.js';

export { EVENT_CONTRACT_TYPE_URL } from '../../proto/sidecast.js';

const POLICIES: Record<string, SchemaPolicy> = { REJECT: 'reject', DEAD_LETTER: 'deadLetter', WARN: 'warn' };

export function decodeContract(resourceName: string, bytes: Uint8Array): EventContract {
  const fail = (field: string, problem: string): never => {
    throw new Error(`EventContract ${JSON.stringify(resourceName)}: ${field}: ${problem}`);
  };
  let raw;
  try {
    raw = decodeEventContract(bytes);
  } catch (e) {
    return fail('(message)', `not a valid sidecast.v1.EventContract protobuf: ${(e as Error).message}`);
  }
  if (raw.name !== resourceName)
    fail('name', `${JSON.stringify(raw.name)} differs from the xDS resource name`);
  if (!raw.type) fail('type', 'is empty; it is the CloudEvents type the contract applies to');
  const policy = POLICIES[raw.policy ?? 'REJECT'] ?? fail('policy', `${raw.policy} is not known`);
  const deadLetterTopic = raw.dead_letter_topic ?? '';
  if (policy === 'deadLetter') {
    if (!deadLetterTopic) fail('dead_letter_topic', 'is empty; the DEAD_LETTER policy needs one');
    try {
      parseTopic(deadLetterTopic);
    } catch (e) {
      fail('dead_letter_topic', (e as Error).message);
    }
  }
  let validate;
  try {
    validate = compileSchema(raw.schema_json ?? '');
  } catch (e) {
    return fail('schema_json', (e as Error).message);
  }
  return {
    name: raw.name,
    type: raw.type,
    schemaId: raw.schema_id ?? '',
    policy,
    deadLetterTopic,
    schema: raw.schema_json,
    validate,
  };
}
