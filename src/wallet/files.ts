/**
 * Durable, private file writes for the wallet repo. config.toml holds the API secret: a crash or a full disk in
 * the middle of a rewrite must leave the previous file whole (an empty [JWT] Secret would mint a new secret and
 * void every issued token; an empty [DB] Conn would open an empty keystore), and the file is never readable by
 * other users, whatever mode an operator-made file had.
 */
import { chmodSync, closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** fsync a directory, so a rename or a new file in it survives a power cut. Best effort where unsupported. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (err) {
    // some filesystems refuse fsync on a directory (EINVAL/EISDIR); the data file itself is synced already
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `data` to `path` atomically with `mode`: a temp file in the same directory (created with the mode,
 * written, fsynced), renamed over the target, then the directory fsynced. On any failure the target is untouched
 * and the temp file is removed.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    // the umask may have narrowed the mode at open; the file must end exactly at `mode`
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

/** Narrows an existing file to `mode` (0600) when it is wider; returns true when it changed it. */
export function restrictMode(path: string, mode = 0o600): boolean {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return false;
  }
  if ((st.mode & 0o777) === mode) return false;
  chmodSync(path, mode);
  return true;
}
