#!/usr/bin/env node
import { Command } from 'commander';
import { pending, runMain, withLogging } from '../common/cli.js';
import { VERSION } from '../common/version.js';
import { registerCommpCommand } from '../worker/commands/commp.js';
import { registerParentsCacheCommand } from '../worker/commands/parents-cache.js';
import { registerProcessorCommand } from '../worker/commands/processor.js';
import { registerStoreCommands } from '../worker/commands/store.js';

const program = withLogging(new Command('venus-worker'))
  .description('venus-worker: sealing box, runs sealing threads from allocation to persisted')
  .version(VERSION);

pending(program.command('daemon').description('run the worker (--config FILE)'), 'venus-worker daemon');
const store = program.command('store').description('seal and persist stores');
registerStoreCommands(store);
pending(program.command('worker').description('list, pause, resume sealing threads'), 'venus-worker worker');
registerProcessorCommand(program);
const util = program.command('util').description('utilities');
registerCommpCommand(util);
registerParentsCacheCommand(util);
const bench = program.command('bench').description('benchmarks');
pending(bench.command('seal').description('seal a sector and time each phase'), 'bench seal');
pending(bench.command('post').description('time Window PoSt proving'), 'bench post');

await runMain(program);
