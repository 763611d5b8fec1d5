/**
 * The per-program log files of the cluster: each start appends a stamped header; failures quote the tail of
 * this run's part; log-line readiness follows the file as it grows.
 */
import { closeSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** The last `n` non-empty lines written to `file` from byte `from` on. */
export function logTail(file: string, from = 0, n = 20): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = statSync(file).size;
    // read at most the last 64 KiB of this run's part
    const start = Math.max(from, size - 65536);
    const buf = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buf, 0, buf.length, start);
    const lines = buf
      .toString('utf8')
      .split('\n')
      .map((l) => l.replace(/\r$/, ''))
      .filter((l) => l.trim() !== '');
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}

export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

export function appendLine(file: string, line: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, line.endsWith('\n') ? line : `${line}\n`);
  } finally {
    closeSync(fd);
  }
}

/** The time stamp of a header line in a log. */
export function stamp(): string {
  return new Date().toISOString();
}

/** Reads a growing log file from an offset, for log-line readiness. */
export class LogFollower {
  private pos: number;
  private partial = '';
  constructor(
    private readonly file: string,
    from: number,
  ) {
    this.pos = from;
  }
  /** New complete lines since the last call. */
  read(): string[] {
    const size = fileSize(this.file);
    if (size <= this.pos) return [];
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(size - this.pos);
      readSync(fd, buf, 0, buf.length, this.pos);
      this.pos = size;
      const text = this.partial + buf.toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      return lines;
    } finally {
      closeSync(fd);
    }
  }
}
