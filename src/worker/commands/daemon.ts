/**
 * `venus-worker daemon --config FILE` (the deployment guide's command; `-c` and VENUS_WORKER_CONFIG too).
 * The log level comes from --log-level or RUST_LOG; temporary files go to TMPDIR (node's os.tmpdir()).
 * SIGINT/SIGTERM stop the threads after their current step; a second signal exits at once (the sector
 * documents are crash-safe either way).
 */
import type { Command } from 'commander';
import { UserError } from '../../common/cli.js';
import { ConfigError } from '../../common/config.js';
import { logger } from '../../common/log.js';
import { loadWorkerConfig } from '../config.js';
import { WorkerDaemon } from '../daemon.js';

const log = logger('worker');

export function registerDaemonCommand(program: Command): Command {
  return program
    .command('daemon')
    .description('run the worker: one sealing thread per seal store')
    .option('-c, --config <file>', 'worker config file (env: VENUS_WORKER_CONFIG)')
    .action(async (opts: { config?: string }) => {
      const file = opts.config ?? process.env.VENUS_WORKER_CONFIG;
      if (!file) throw new UserError('daemon: give the config file with --config FILE');
      let cfg: ReturnType<typeof loadWorkerConfig>;
      try {
        cfg = loadWorkerConfig(file);
      } catch (err) {
        if (err instanceof ConfigError) throw new UserError(err.message);
        throw err;
      }
      const daemon = await WorkerDaemon.start(cfg);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const onSignal = (sig: NodeJS.Signals) => {
          if (stopping) {
            log.warn({ signal: sig }, 'second signal: exiting now');
            process.exit(130);
          }
          stopping = true;
          log.info({ signal: sig }, 'stopping after the current steps');
          void daemon.stop().then(resolve);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
    });
}
