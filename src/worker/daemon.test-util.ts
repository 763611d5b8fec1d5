/**
 * For the daemon tests only (not built into dist/): the real `venus-worker` command line, run as a child of the
 * test so the daemon under test, which lives in the test's process, keeps answering.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

/** `venus-worker ARGS…` with `env` over this process's environment: its exit status and output. */
export function workerCli(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/venus-worker.ts'), ...args],
      { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } },
      (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
