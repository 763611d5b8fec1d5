#!/usr/bin/env node
import { Command } from 'commander';
import { runMain, withLogging } from '../common/cli.js';
import { VERSION } from '../common/version.js';
import { registerWalletCommands } from '../wallet/cli.js';

const program = withLogging(new Command('venus-wallet'))
  .description('venus-wallet: keeps BLS and secp256k1 keys encrypted and signs for the Venus cluster')
  .version(VERSION);

// run, setpwd, unlock, lock, lock-state, new, list, export, import, sign, del, auth, support (src/wallet/cli.ts)
registerWalletCommands(program);

await runMain(program);
