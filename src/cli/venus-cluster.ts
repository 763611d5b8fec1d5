#!/usr/bin/env node
import { Command } from 'commander';
import { pending, runMain, withLogging } from '../common/cli.js';
import { VERSION } from '../common/version.js';

const program = withLogging(new Command('venus-cluster'))
  .description('runs a whole venus cluster (devnet, wallet, sector-manager, worker) on this machine')
  .version(VERSION);
pending(program.option('--home <dir>', 'cluster home'), 'the one-command cluster');

await runMain(program);
