// How commands talk to people and to machines: pretty, coloured, multi-line on a terminal; one JSON
// object per line otherwise (or with --log-format json). Logs go to stdout (what container runtimes
// collect), command errors to stderr.
import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { MeshConfigError, formatIssue } from '../xds-server/mesh/index.js';
import { CliError, EXIT } from './exit-codes.js';

export type LogFormat = 'pretty' | 'json';

export function parseLogFormat(value: string | undefined, tty = !!process.stdout.isTTY): LogFormat {
  if (value === undefined) return tty ? 'pretty' : 'json';
  if (value === 'pretty' || value === 'json') return value;
  throw new CliError(`--log-format must be "pretty" or "json", got "${value}"`, EXIT.usage);
}

export function createLogger(format: LogFormat, level: string, name?: string): Logger {
  const opts = { level, ...(name ? { name } : {}) };
  if (format === 'json') return pino(opts, pino.destination({ fd: 1, sync: true }));
  // Synchronous, so the last lines before an exit are never lost.
  return pino(
    opts,
    PinoPretty({
      sync: true,
      colorize: !!process.stdout.isTTY,
      translateTime: 'HH:MM:ss.l',
      ignore: 'pid,hostname',
    }),
  );
}

const colour = (code: number, s: string): string =>
  process.stderr.isTTY && !process.env.NO_COLOR ? `\x1b[${code}m${s}\x1b[0m` : s;
export const red = (s: string): string => colour(31, s);
export const yellow = (s: string): string => colour(33, s);
export const green = (s: string): string => colour(32, s);
export const dim = (s: string): string => colour(2, s);

/** The exit code an error stands for: CliError says it; a mesh problem is invalid input; else a failure. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CliError) return e.exitCode;
  if (e instanceof MeshConfigError) return EXIT.invalid;
  return EXIT.unavailable;
}

/**
 * Prints a command's failure to stderr. Text: one line (`sidecast <cmd>: …`), or a header plus one
 * line per mesh problem when there are several. JSON: one object.
 */
export function reportError(command: string, e: unknown, format: LogFormat): void {
  const err = e instanceof Error ? e : new Error(String(e));
  const issues = err instanceof MeshConfigError ? err.issues : undefined;
  if (format === 'json') {
    process.stderr.write(
      `${JSON.stringify({ level: 'error', command, error: issues ? 'invalid mesh configuration' : err.message, ...(issues ? { issues } : {}) })}\n`,
    );
    return;
  }
  const prefix = red(`sidecast ${command}:`);
  if (issues?.length === 1) process.stderr.write(`${prefix} ${formatIssue(issues[0]!)}\n`);
  else if (issues)
    process.stderr.write(
      `${prefix} invalid mesh configuration (${issues.length} problems)\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`,
    );
  else
    process.stderr.write(`${prefix} ${err.message.replace(/\n+/g, process.stderr.isTTY ? '\n  ' : '; ')}\n`);
}
