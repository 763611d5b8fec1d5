/**
 * `venus-worker processor <stage>`: the child side of the external processor protocol, serving the
 * in-process implementation of one stage. The worker starts it for `[processors.<stage>]` without `bin`; the
 * sector-manager's `--ext-prover` starts `processor window_post` / `winning_post` (processor/post.ts).
 * stdout carries only protocol lines; logs go to stderr.
 */
import type { Command } from 'commander';
import { UserError } from '../../common/cli.js';
import { BUILTIN, STAGES, type Stage, serveProcessor } from '../processor/index.js';
import { POST_BUILTIN, POST_STAGES, type PoStStage } from '../processor/post.js';

/** The sealing stages, and the PoSt stages a sector-manager's ext-prover uses. */
const ALL = [...STAGES, ...POST_STAGES];

export function registerProcessorCommand(program: Command): Command {
  return program
    .command('processor')
    .description('run as an external processor for a stage (speaks JSON lines on stdin/stdout)')
    .argument('<stage>', `one of ${ALL.join(', ')}`)
    .action(async (stage: string) => {
      if (!(ALL as readonly string[]).includes(stage)) {
        throw new UserError(`unknown stage "${stage}" (expected one of ${ALL.join(', ')})`);
      }
      const impl = (POST_STAGES as readonly string[]).includes(stage)
        ? POST_BUILTIN[stage as PoStStage]
        : (BUILTIN[stage as Stage] as (task: unknown) => Promise<unknown>);
      await serveProcessor(stage, impl);
    });
}
