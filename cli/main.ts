#!/usr/bin/env node
// The `sidecast` command (README "Command line"; exit codes in cli/exit-codes.ts).
//
// Adding a command: create cli/commands/<name>.ts exporting `register(program: Command): void`,
// which declares the command with commander (`program.command('name').description(…).option(…)`)
// and ends with `.action(action('name', async (…args, cmd) => { … }))` from cli/action.ts — that
// wrapper turns a thrown CliError/MeshConfigError into a one-line message and the right exit code.
// Then add it to the list in cli/commands/index.ts. Keep commands thin: the work belongs in the
// libraries (xds-server/, broker-bridge/, …); a command parses flags, calls them and prints.
import { main } from './program.js';

await main(process.argv);
