// The sidecast program: global options plus every command listed in cli/commands/index.ts.
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { EXIT } from './exit-codes.js';
import { packageVersion } from './package-root.js';

export function buildProgram(): Command {
  const program = new Command('sidecast')
    .description('Join a service mesh to an event mesh: xDS control plane, broker bridge and mesh tools.')
    .version(packageVersion(), '-v, --version')
    .option('--log-format <format>', 'pretty (default on a terminal) or json (default otherwise)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program);
  // Sub-commands inherit the exit override, so usage errors end with EXIT.usage, not commander's 1.
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; everything else is a usage error.
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    throw e;
  }
}
