// Event data contracts: a JSON Schema for the `data` of one EventRoute's events, with what ingest
// does with an event that breaks it (policy). Contracts come from the xds-server as
// `sidecast.v1.EventContract` resources (one per EventRoute that declares `event.dataSchema`); each
// version is compiled once with ajv when its resource is decoded.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export type SchemaPolicy = 'reject' | 'deadLetter' | 'warn';

export interface EventContract {
  /** `<service>/<EventRoute name>`. */
  name: string;
  /** CloudEvents `type` the route emits; ingest finds the contract by it. */
  type: string;
  /** The URI the route's events carry as `dataschema`. */
  schemaId: string;
  policy: SchemaPolicy;
  /** Where `deadLetter` sends violating events. */
  deadLetterTopic: string;
  /** The schema as sent (what makes two versions equal). */
  schema: string;
  validate: ValidateFunction;
}

// One ajv per process: compiled schemas are cached by their own content, and contracts are few.
const ajv = new Ajv({ allErrors: true, strict: false, logger: false, validateFormats: false });

/** Compiles `schemaJson`; throws an Error saying what is wrong with the schema. */
export function compileSchema(schemaJson: string): ValidateFunction {
  let schema: unknown;
  try {
    schema = JSON.parse(schemaJson);
  } catch (e) {
    throw new Error(`schema is not JSON: ${(e as Error).message}`);
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw new Error('schema must be a JSON object (a JSON Schema)');
  // The contract's identity is its name and content, not a `$id` two versions may share.
  const rest = { ...(schema as Record<string, unknown>) };
  delete rest.$id;
  try {
    return ajv.compile(rest);
  } catch (e) {
    throw new Error(`not a valid JSON Schema: ${(e as Error).message}`);
  }
}

const MAX_LISTED = 5;

/** `data/owner/tier: must be one of … (enum)`: the JSON path inside the event, the message, the rule. */
function describe(e: ErrorObject): string {
  const extra =
    e.keyword === 'additionalProperties'
      ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"`
      : '';
  return `data${e.instancePath}: ${e.message ?? 'is invalid'}${extra} (${e.keyword}, schema ${e.schemaPath})`;
}

/** null when `data` satisfies the contract, else a reason naming the event, the JSON path and the rule. */
export function violation(c: EventContract, where: string, id: string, data: unknown): string | null {
  if (c.validate(data)) return null;
  const errors = c.validate.errors ?? [];
  const listed = errors.slice(0, MAX_LISTED).map(describe).join('; ');
  const more = errors.length > MAX_LISTED ? ` (+${errors.length - MAX_LISTED} more)` : '';
  return `${where} (id ${JSON.stringify(id)}, type ${c.type}) breaks the data contract of EventRoute ${c.name} (${c.schemaId}): ${listed}${more}`;
}
