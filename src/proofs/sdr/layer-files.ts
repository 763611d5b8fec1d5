/** Layer files of PC1: written under `<name>.tmp`, fsynced, then renamed, so a layer file that exists is whole. */
import { type FileHandle, open, rename, rm } from 'node:fs/promises';

export async function readFully(fh: FileHandle, buf: Uint8Array, pos: number): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, pos + done);
    if (bytesRead === 0) throw new Error('file ended early');
    done += bytesRead;
  }
}

/** Writes `data` at `pos`, all of it. */
export async function writeFully(fh: FileHandle, data: Uint8Array, pos: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, pos + done);
    done += bytesWritten;
  }
}

/** `<path>.tmp` open for writing; finish() fsyncs and renames it to `path` (a file that exists is whole). */
export async function openLayerFile(
  path: string,
): Promise<{ fh: FileHandle; finish(): Promise<void>; abort(): Promise<void> }> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  const abort = async () => {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
  };
  return {
    fh,
    abort,
    finish: async () => {
      try {
        await fh.sync();
      } catch (e) {
        await abort();
        throw e;
      }
      await fh.close();
      await rename(tmp, path);
    },
  };
}

/** Opens `<path>.tmp`, runs `body`, then fsyncs and renames it to `path` (so a file that exists is whole). */
export async function withLayerFile(path: string, body: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await body(fh);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}
