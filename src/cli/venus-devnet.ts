#!/usr/bin/env node
import { Command } from 'commander';
import { pending, runMain, withLogging } from '../common/cli.js';
import { VERSION } from '../common/version.js';

const program = withLogging(new Command('venus-devnet'))
  .description('venus-devnet: an embedded Filecoin chain, messager, gateway and auth for one-machine clusters')
  .version(VERSION)
  .option('--home <dir>', 'devnet home', '~/.venus-devnet');

pending(program.command('init').description('create genesis'), 'venus-devnet init');
pending(program.command('run').description('serve chain, messager, gateway and auth'), 'venus-devnet run');
pending(program.command('send').description('send FIL'), 'venus-devnet send');
pending(program.command('status').description('chain and miner status'), 'venus-devnet status');
pending(program.command('token').description('token create --name N --perm P'), 'venus-devnet token');

await runMain(program);
