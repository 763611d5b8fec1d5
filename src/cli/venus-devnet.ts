#!/usr/bin/env node
import { Command } from 'commander';
import { runMain, withLogging } from '../common/cli.js';
import { VERSION } from '../common/version.js';
import { registerDevnetCommands } from '../devnet/cli.js';

const program = withLogging(new Command('venus-devnet'))
  .description('venus-devnet: an embedded Filecoin chain, messager, gateway and auth for one-machine clusters')
  .version(VERSION)
  .option('--home <dir>', 'devnet home', '~/.venus-devnet');

// init, run, send, status, token create (src/devnet/cli.ts)
registerDevnetCommands(program);

await runMain(program);
