// `sidecast analyze <mesh> [--broker kind]`: lints a valid mesh for what is probably a mistake
// (cli/analyze/lints.ts); an invalid mesh gets its validation errors instead.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { readDocuments } from '../../xds-server/mesh/documents.js';
import { formatIssue, meshFiles, parseMesh, type MeshIssue } from '../../xds-server/mesh/index.js';
import { action } from '../action.js';
import { BROKER_KINDS, type BrokerKind } from '../analyze/carry.js';
import { analyze, type Finding } from '../analyze/lints.js';
import { CliError, EXIT } from '../exit-codes.js';
import { dim, green, red, yellow } from '../output.js';

/** Reads a mesh and lints it; throws MeshConfigError when it does not validate. */
export function analyzeMesh(path: string, broker?: BrokerKind): Finding[] {
  const sources = meshFiles(path).map((file) => {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (e) {
      throw new CliError(`${file}: cannot read: ${(e as Error).message}`, EXIT.invalid);
    }
  });
  const mesh = parseMesh(sources);
  const docs = readDocuments(
    [...sources].sort((a, b) => (a.file < b.file ? -1 : 1)),
    [] as MeshIssue[],
  );
  return analyze({ mesh, docs, broker });
}

const MARK = { error: red('error'), warning: yellow('warning'), info: dim('info') };

export function register(program: Command): void {
  program
    .command('analyze')
    .description(
      'lint a mesh: unmatched subscriptions, unconsumed topics, overlapping routes, broker limits, dead-letter loops, …',
    )
    .argument('<mesh>', 'mesh YAML file, or a directory of them')
    .option('--broker <kind>', `check topics and patterns against a broker: ${BROKER_KINDS.join(', ')}`)
    .option('--format <format>', 'text or json', 'text')
    .option('--strict', 'exit 1 on warnings too')
    .addHelpText(
      'after',
      '\nCodes SC101–SC109 are explained in docs/mesh-config.md ("Lints").\nExit: 0 no errors, 1 errors (or warnings with --strict) or an invalid mesh, 2 usage.\nExample: sidecast analyze examples/bank/mesh.yaml --broker nats',
    )
    .action(
      action('analyze', async (path: string, o: { broker?: string; format: string; strict?: boolean }) => {
        if (o.format !== 'text' && o.format !== 'json')
          throw new CliError(`--format must be "text" or "json", got "${o.format}"`, EXIT.usage);
        if (o.broker !== undefined && !(BROKER_KINDS as readonly string[]).includes(o.broker))
          throw new CliError(
            `--broker must be one of ${BROKER_KINDS.join(', ')}, got "${o.broker}"`,
            EXIT.usage,
          );
        const findings = analyzeMesh(path, o.broker as BrokerKind | undefined);
        const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
        if (o.format === 'json') process.stdout.write(`${JSON.stringify({ findings }, null, 2)}\n`);
        else {
          for (const f of findings) {
            console.log(`${MARK[f.severity]} ${f.code} ${formatIssue(f)}`);
            console.log(`  ${dim('fix:')} ${f.fix}`);
          }
          console.log(
            findings.length === 0
              ? `${green('✓')} ${path}: no findings${o.broker ? ` (checked against ${o.broker})` : ''}`
              : `${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info in ${path}`,
          );
        }
        return count('error') > 0 || (o.strict && count('warning') > 0) ? EXIT.invalid : EXIT.ok;
      }),
    );
}
