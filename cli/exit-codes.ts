// Exit codes of every `sidecast` command (README "Command line" lists them).
export const EXIT = {
  /** Done; for checks: nothing found at the failing level. */
  ok: 0,
  /** The input is wrong: missing or unreadable file, invalid mesh, lint errors (or warnings with --strict). */
  invalid: 1,
  /** The command line is wrong: unknown command or flag, missing argument, bad flag value. */
  usage: 2,
  /** A server could not be reached or answered with an error; a service failed to start or stop. */
  unavailable: 3,
} as const;

/** An error whose message is what the user reads (no stack) and whose code is the exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.invalid,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
