#!/usr/bin/env node
import { Command } from 'commander';
import { pending, runMain, withLogging } from '../common/cli.js';
import { VERSION } from '../common/version.js';

const program = withLogging(new Command('venus-sector-manager'))
  .description('venus-sector-manager: the chain-facing daemon of the sealing cluster')
  .version(VERSION)
  .option('--home <dir>', 'sector-manager home', '~/.venus-sector-manager')
  .option('--net <net>', 'network: mainnet, cali, 2k, forcenet, …', 'mainnet');

const daemon = program.command('daemon').description('init and run the daemon');
pending(daemon.command('init').description('write sector-manager.cfg'), 'daemon init');
pending(daemon.command('run').description('run the daemon (--listen, --poster)'), 'daemon run');

const util = program.command('util').description('operator tools');
const miner = util.command('miner').description('miner actors');
pending(miner.command('create').description('create a miner actor'), 'util miner create');
pending(miner.command('info').description('show a miner'), 'util miner info');
pending(util.command('sealer').description('sectors and proving'), 'util sealer');
pending(util.command('worker').description('known workers'), 'util worker');
pending(util.command('storage').description('persisted stores'), 'util storage');

await runMain(program);
