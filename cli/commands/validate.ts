// `sidecast validate <mesh>`: loads and translates a mesh file or directory exactly as the
// xds-server would, and lists every problem as file:line, document, field: message.
import type { Command } from 'commander';
import {
  formatIssue,
  loadMesh,
  MeshConfigError,
  translate,
  type MeshIssue,
} from '../../xds-server/mesh/index.js';
import { action } from '../action.js';
import { CliError, EXIT } from '../exit-codes.js';
import { green, red } from '../output.js';

export interface ValidateResult {
  valid: boolean;
  files: string[];
  issues: MeshIssue[];
  counts?: { services: number; eventRoutes: number; subscriptions: number };
}

/** Validation as the xds-server does it on load: schema and model checks, then translation. */
export function validateMesh(path: string): ValidateResult {
  try {
    const mesh = loadMesh(path);
    translate(mesh);
    return {
      valid: true,
      files: mesh.files,
      issues: [],
      counts: {
        services: mesh.services.length,
        eventRoutes: mesh.eventRoutes.length,
        subscriptions: mesh.subscriptions.length,
      },
    };
  } catch (e) {
    if (e instanceof MeshConfigError) return { valid: false, files: [], issues: e.issues };
    // Translation errors (a resource the strict Envoy checker refuses) name their resource.
    return { valid: false, files: [], issues: [{ file: path, message: (e as Error).message }] };
  }
}

function formatOption(v: string): 'text' | 'json' {
  if (v !== 'text' && v !== 'json')
    throw new CliError(`--format must be "text" or "json", got "${v}"`, EXIT.usage);
  return v;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check a mesh config file or directory; every problem as file:line, field: message')
    .argument('<mesh>', 'mesh YAML file, or a directory of them')
    .option('--format <format>', 'text or json', 'text')
    .addHelpText(
      'after',
      '\nExit: 0 valid, 1 invalid or unreadable, 2 usage.\nExample: sidecast validate examples/bank/mesh.yaml',
    )
    .action(
      action('validate', async (mesh: string, opts: { format: string }) => {
        const format = formatOption(opts.format);
        const result = validateMesh(mesh);
        if (format === 'json') process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else if (result.valid) {
          const c = result.counts!;
          console.log(
            `${green('✓')} ${mesh}: valid (${c.services} services, ${c.eventRoutes} event routes, ${c.subscriptions} subscriptions)`,
          );
        } else {
          for (const i of result.issues) console.error(`${red('✗')} ${formatIssue(i)}`);
          console.error(`${result.issues.length} problem(s) in ${mesh}`);
        }
        return result.valid ? EXIT.ok : EXIT.invalid;
      }),
    );
}
