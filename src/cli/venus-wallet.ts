#!/usr/bin/env node
import { Command } from 'commander';
import { pending, runMain, withLogging } from '../common/cli.js';
import { VERSION } from '../common/version.js';

const program = withLogging(new Command('venus-wallet'))
  .description('venus-wallet: keeps BLS and secp256k1 keys encrypted and signs for the Venus cluster')
  .version(VERSION)
  .option('--repo <dir>', 'wallet repo', '~/.venus_wallet')
  .option('--nettype <net>', 'network: mainnet, calibnet, 2k, …', 'mainnet');

pending(program.command('run').description('start the wallet daemon'), 'venus-wallet run');
pending(program.command('setpwd').description('set the wallet password'), 'venus-wallet setpwd');
pending(program.command('unlock').description('unlock the wallet'), 'venus-wallet unlock');
pending(program.command('lock').description('lock the wallet'), 'venus-wallet lock');
pending(program.command('lock-state').description('show whether the wallet is locked'), 'venus-wallet lock-state');
pending(program.command('new').description('create a key: new bls | new secp256k1'), 'venus-wallet new');
pending(program.command('import').description('import a key (hex-lotus or JSON)'), 'venus-wallet import');
pending(program.command('export').description('export a key'), 'venus-wallet export');
pending(program.command('list').description('list addresses'), 'venus-wallet list');
pending(program.command('sign').description('sign hex bytes with an address'), 'venus-wallet sign');
pending(program.command('del').description('delete a key'), 'venus-wallet del');
pending(program.command('auth').description('auth api-info --perm …'), 'venus-wallet auth');

await runMain(program);
