// The event-emitter's plugin configuration (docs/interfaces.md §1) for one service, built from its
// EventRoutes and checked against common/emitter-config.schema.json before it is published.
import { existsSync, readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { prune } from './model.js';
import { MeshConfigError, type MeshConfig, type ServiceSpec } from './types.js';

export const BRIDGE_CLUSTER = 'sidecast_bridge';
const SCHEMA_FILE = new URL('../../common/emitter-config.schema.json', import.meta.url);

let validator: ValidateFunction | null | undefined;

/** The schema validator, or null while the schema file does not exist yet. */
function emitterSchema(): ValidateFunction | null {
  if (validator === undefined) {
    validator = existsSync(SCHEMA_FILE)
      ? new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')))
      : null;
  }
  return validator;
}

/** Emitter JSON for `service`; rules sorted by name (the EventRoute names). */
export function emitterConfig(config: MeshConfig, service: ServiceSpec): Record<string, unknown> {
  const { mesh } = config;
  const json = prune({
    source: `${mesh.source}/${service.name}`,
    bridge: prune({
      cluster: BRIDGE_CLUSTER,
      authority: mesh.bridge.authority,
      path: mesh.bridge.path,
      timeout_ms: mesh.bridge.timeoutMs,
      token: mesh.bridge.token,
    }),
    batch: mesh.emitter.batch && prune(mesh.emitter.batch),
    retry: mesh.emitter.retry && prune(mesh.emitter.retry),
    rules: config.eventRoutes.filter((r) => r.service === service.name).map((r) => r.rule),
  });
  const check = emitterSchema();
  if (check && !check(json)) {
    throw new MeshConfigError(
      (check.errors ?? []).map((e) => ({
        file: config.files.join(', '),
        kind: 'Service',
        name: service.name,
        field: `emitter config${e.instancePath.replace(/\//g, '.')}`,
        message: `${e.message ?? 'invalid'} (common/emitter-config.schema.json${e.schemaPath})`,
      })),
    );
  }
  return json;
}
