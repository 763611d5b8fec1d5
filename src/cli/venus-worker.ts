#!/usr/bin/env node
import { Command } from 'commander';
import { runMain, withLogging } from '../common/cli.js';
import { VERSION } from '../common/version.js';
import { registerBenchPostCommand } from '../worker/commands/bench-post.js';
import { registerBenchSealCommand } from '../worker/commands/bench-seal.js';
import { registerBenchSnapCommand } from '../worker/commands/bench-snap.js';
import { registerCommpCommand } from '../worker/commands/commp.js';
import { registerDaemonCommand } from '../worker/commands/daemon.js';
import { registerParentsCacheCommand } from '../worker/commands/parents-cache.js';
import { registerProcessorCommand } from '../worker/commands/processor.js';
import { registerStoreCommands } from '../worker/commands/store.js';
import { registerWorkerCommands } from '../worker/commands/worker.js';

const program = withLogging(new Command('venus-worker'))
  .description('venus-worker: sealing box, runs sealing threads from allocation to persisted')
  .version(VERSION);

registerDaemonCommand(program);
const store = program.command('store').description('seal and persist stores');
registerStoreCommands(store);
registerWorkerCommands(program);
registerProcessorCommand(program);
const util = program.command('util').description('utilities');
registerCommpCommand(util);
registerParentsCacheCommand(util);
const bench = program.command('bench').description('benchmarks');
registerBenchSealCommand(bench);
registerBenchPostCommand(bench);
registerBenchSnapCommand(bench);

await runMain(program);
