// The one wrapper every command's action goes through: errors become a message on stderr and an
// exit code (cli/exit-codes.ts), never a stack trace.
import type { Command } from 'commander';
import { exitCodeOf, parseLogFormat, reportError, type LogFormat } from './output.js';

/** The global --log-format of the program a command belongs to. */
export function logFormatOf(cmd: Command): LogFormat {
  return parseLogFormat((cmd.optsWithGlobals() as { logFormat?: string }).logFormat);
}

// commander passes (…arguments, options, command); the command object is always last.
export function action<A extends unknown[]>(
  name: string,
  run: (...args: A) => Promise<number | void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    let format: LogFormat = 'pretty';
    try {
      // Errors are text for people unless JSON was asked for explicitly; logs follow logFormatOf.
      format = (cmd.optsWithGlobals() as { logFormat?: string }).logFormat === 'json' ? 'json' : 'pretty';
      const code = await run(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (e) {
      reportError(name, e, format);
      process.exitCode = exitCodeOf(e);
    }
  };
}
