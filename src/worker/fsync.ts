/**
 * Flushing to disk before a step counts as done: a file's bytes, or a directory's names after a create, rename or
 * unlink in it (a crash then finds the result or nothing, never a name without its bytes).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** fsync(2) of a file or directory, opened read-only. */
export async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
