// Every `sidecast` command, registered in this order (also the order of `sidecast --help`).
// One file per command; to add one, see the comment at the top of cli/main.ts.
import type { Command } from 'commander';
import { register as analyze } from './analyze.js';
import { register as asyncapi } from './asyncapi.js';
import { register as bridge } from './bridge.js';
import { register as start } from './start.js';
import { register as status } from './status.js';
import { register as validate } from './validate.js';
import { register as xdsServer } from './xds-server.js';

export const COMMANDS: Array<(program: Command) => void> = [
  start,
  xdsServer,
  bridge,
  validate,
  analyze,
  asyncapi,
  status,
];
