/** `venus-worker store seal-init -l PATH…` and `store file-init -l PATH…`, as the deployment guide runs them. */
import type { Command } from 'commander';
import { fileInit, sealInit } from '../store.js';

/** Registers `seal-init` and `file-init` on the `store` command. */
export function registerStoreCommands(store: Command): void {
  store
    .command('seal-init')
    .alias('sealing-init')
    .description('format seal stores (.holder, data/, meta/); each becomes one sealing thread')
    .requiredOption('-l, --loc <paths...>', 'seal store directories (absent or empty)')
    .action(async (opts: { loc: string[] }) => {
      for (const p of await sealInit(opts.loc)) process.stdout.write(`seal store initialized: ${p}\n`);
    });
  store
    .command('file-init')
    .description('format persist stores (.holder), where sealed sectors are kept')
    .requiredOption('-l, --loc <paths...>', 'persist store directories (absent or empty)')
    .action(async (opts: { loc: string[] }) => {
      for (const p of await fileInit(opts.loc)) process.stdout.write(`persist store initialized: ${p}\n`);
    });
}
