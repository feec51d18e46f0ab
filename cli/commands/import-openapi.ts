// `sidecast import openapi <spec> --service <name>`: the spec's operations carrying
// x-sidecast-event, printed as mesh YAML EventRoutes (docs/event-emitter.md "OpenAPI"). The work is
// in xds-server/annotations/openapi.ts; this parses flags, calls it and prints.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { importOpenApi, OpenApiImportError, toMeshYaml } from '../../xds-server/annotations/openapi.js';
import { action } from '../action.js';
import { CliError, EXIT } from '../exit-codes.js';

const SERVICE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function register(program: Command): void {
  const group =
    program.commands.find((c) => c.name() === 'import') ??
    program.command('import').description('turn descriptions you already have into mesh documents');
  group
    .command('openapi <spec>')
    .description('OpenAPI 3.0/3.1 operations with x-sidecast-event → EventRoutes (mesh YAML on stdout)')
    .requiredOption('--service <name>', 'the mesh Service whose sidecar serves these operations')
    .option('--base-path <path>', 'prefix the sidecar sees in front of the spec paths, e.g. /v1')
    .option('-o, --output <file>', 'write the YAML to this file instead of stdout')
    .action(
      action(
        'import openapi',
        async (spec: string, opts: { service: string; basePath?: string; output?: string }) => {
          if (!SERVICE_NAME.test(opts.service))
            throw new CliError(
              `--service "${opts.service}" must be a mesh Service name (lowercase DNS label)`,
              EXIT.usage,
            );
          if (opts.basePath !== undefined && !opts.basePath.startsWith('/'))
            throw new CliError(`--base-path "${opts.basePath}" must start with "/"`, EXIT.usage);
          try {
            const result = await importOpenApi(spec, { service: opts.service, basePath: opts.basePath });
            const yaml = toMeshYaml(result, spec);
            if (opts.output) writeFileSync(opts.output, yaml);
            else process.stdout.write(yaml);
            process.stderr.write(
              `sidecast import openapi: ${result.eventRoutes.length} EventRoute(s) from ${result.operations} operation(s)${opts.output ? ` → ${opts.output}` : ''}\n`,
            );
          } catch (e) {
            if (e instanceof OpenApiImportError) throw new CliError(e.message, EXIT.invalid);
            throw e;
          }
        },
      ),
    );
}
