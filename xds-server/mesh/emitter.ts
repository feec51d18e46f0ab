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

/**
 * The filter accepts 1–64 rules, but a sidecar must carry the emitter even before its service has
 * an EventRoute (and as the ECDS default), so that adding the first EventRoute changes only the
 * ECDS resource. This rule stands in for "no events": a method no client sends on a path under a
 * reserved prefix, which the filter's path prefilter rejects without further work.
 */
export const NO_EVENTS_RULE = {
  name: 'sidecast-no-events',
  match: { method: 'NOOP', path: '/.sidecast/no-events' },
  event: { type: 'io.sidecast.none', topic: 'sidecast/none' },
};

/** Emitter JSON for `service`; rules sorted by name (the EventRoute names). */
export function emitterConfig(config: MeshConfig, service: ServiceSpec): Record<string, unknown> {
  const { mesh } = config;
  const routes = config.eventRoutes.filter((r) => r.service === service.name);
  const rules: { name: string }[] = routes.map((r) => r.rule);
  // With route annotations on, the filter takes an empty rule list.
  const annotations = mesh.emitter.annotateRoutes === true;
  if (rules.length === 0 && !annotations) rules.push(NO_EVENTS_RULE);
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
    // Off unless the mesh annotates its routes: no route metadata read per request.
    route_annotations: annotations,
    rules,
  });
  const check = emitterSchema();
  if (check && !check(json)) {
    throw new MeshConfigError(
      (check.errors ?? [])
        .filter((e) => e.keyword !== 'if') // its failing "then" branch is reported on its own
        .map((e) => {
          // Blame the EventRoute the failing rule came from, when it is a rule.
          const rule = /^\/rules\/(\d+)(.*)$/.exec(e.instancePath);
          const route = rule ? routes[Number(rule[1])] : undefined;
          return {
            file: route?.origin.file ?? config.files.join(', '),
            document: route?.origin.document,
            kind: route ? 'EventRoute' : 'Mesh',
            name: route ? route.name : config.mesh.name,
            field: `emitter config ${route ? `rule${rule![2]}` : e.instancePath}`.replace(/\//g, '.'),
            message: `${e.message ?? 'invalid'} (common/emitter-config.schema.json${e.schemaPath}, service ${service.name})`,
          };
        }),
    );
  }
  return json;
}
