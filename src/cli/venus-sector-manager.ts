#!/usr/bin/env node
import { Command } from 'commander';
import { runMain, withLogging } from '../common/cli.js';
import { VERSION } from '../common/version.js';
import { registerManagerCommands } from '../manager/cli.js';

const program = withLogging(new Command('venus-sector-manager'))
  .description('venus-sector-manager: the chain-facing daemon of the sealing cluster')
  .version(VERSION)
  .option(
    '--home <dir>',
    'sector-manager home (env VENUS_SECTOR_MANAGER_PATH)',
    process.env.VENUS_SECTOR_MANAGER_PATH ?? '~/.venus-sector-manager',
  )
  .option('--net <net>', 'network: mainnet, cali, 2k, forcenet, …', 'mainnet');

registerManagerCommands(program);

await runMain(program);
