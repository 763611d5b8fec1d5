/**
 * Fetching a deal's piece into the seal store (docs/deals-worker.md, "Fetching"): from `local_pieces_dirs`
 * (`<dir>/<cid>`, then `<dir>/<cid>.car`), else from the manager's piece store `<manager>/piecestore/<cid>`,
 * which may redirect to the market. The payload is streamed to `<pieces dir>/<cid>.tmp` while its CommP is
 * computed (zero-extended to the piece's size, as the sealer zero-fills it), and renamed into place only when
 * the CommP equals the deal's piece CID — so nothing whose bytes disagree with the deal is ever sealed.
 *
 * Failure levels: bytes that disagree with the deal (wrong CommP, longer than the piece, shorter than its
 * payload) abort the sector, which releases its deals; a server that cannot be reached or answers 404/5xx is
 * temporary (retried); a refused token is permanent (an operator must fix the config).
 * A piece file left by an earlier run is reused only after its size and CommP are checked again.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cidToCommP } from '../../fil/index.js';
import { CommPHasher, commPOfFile, unpaddedPieceSize } from '../../proofs/index.js';
import { fsyncPath } from '../fsync.js';
import { abort, Failure, perm, temp } from '../sealing/failure.js';
import {
  MARKET_NAMESPACE,
  MARKET_NAMESPACE_HEADER,
  openPieceUrl,
  PieceNetworkError,
  PieceStatusError,
} from './http.js';
import type { Placed } from './layout.js';

export type DealPiece = Placed & { kind: 'deal' };

export interface PieceSources {
  localPiecesDirs: readonly string[];
  /** `<manager origin>/piecestore`, or null when only local pieces are used. */
  pieceStoreUrl: string | null;
  /** The headers the worker sends the manager (its Authorization token). */
  managerHeaders: Record<string, string>;
  /** `piece_token`: sent to the market after a redirect. */
  pieceToken: string | null;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
}

export interface StagedPiece {
  /** The payload file (exactly payloadSize bytes). */
  path: string;
  /** An earlier run's file, checked again. */
  reused: boolean;
  /** Where the bytes came from (local path or URL without query). */
  from: string;
}

function describe(d: DealPiece): string {
  const info = d.piece.DealInfo;
  const ids = info ? (info.AllocationID ? `allocation ${info.AllocationID}` : `deal ${info.DealID}`) : 'no deal';
  return `piece ${d.cid} (${ids}, ${d.size} bytes at offset ${d.offset})`;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** `<dir>/<cid>`, then `<dir>/<cid>.car`, in each local pieces dir (damocles' LocalPieceStore). */
export async function findLocalPiece(dirs: readonly string[], cid: string): Promise<string | null> {
  for (const dir of dirs) {
    for (const name of [cid, `${cid}.car`]) {
      const p = join(dir, name);
      if (await isFile(p)) return p;
    }
  }
  return null;
}

function hasAuthorization(h: Record<string, string>): boolean {
  return Object.keys(h).some((k) => k.toLowerCase() === 'authorization');
}

/** Headers for the manager's piece store: the worker's own, else the piece token. */
function firstHeaders(src: PieceSources): Record<string, string> {
  if (hasAuthorization(src.managerHeaders) || !src.pieceToken) return { ...src.managerHeaders };
  return { ...src.managerHeaders, Authorization: `Bearer ${src.pieceToken}` };
}

/** Headers after a redirect to the market (damocles' fetcher/http.rs): the piece token and the namespace. */
function redirectHeaders(src: PieceSources): Record<string, string> {
  return src.pieceToken
    ? { Authorization: `Bearer ${src.pieceToken}`, [MARKET_NAMESPACE_HEADER]: MARKET_NAMESPACE }
    : {};
}

/** A read that failed for another reason than the data (a dropped connection, a disk error): retried. */
function readFailure(d: DealPiece, from: string, err: unknown): Failure {
  if (err instanceof Failure) return err;
  return temp(`${describe(d)}: reading ${from}: ${(err as Error).message}`, err);
}

/**
 * Streams `source` into `tmp`: at most the piece's unpadded size, bytes past the payload must be zeros (a store
 * may keep the piece zero-padded; they are not written), at least the payload. Returns the CommP of the bytes
 * zero-extended to the piece.
 */
async function copyChecked(
  d: DealPiece,
  source: AsyncIterable<Uint8Array>,
  tmp: string,
  from: string,
): Promise<Uint8Array> {
  const max = unpaddedPieceSize(d.size);
  const h = new CommPHasher();
  const fh = await open(tmp, 'w');
  let seen = 0;
  try {
    for await (const raw of source) {
      const chunk = raw instanceof Uint8Array ? raw : Buffer.from(raw as string);
      if (seen + chunk.length > max) {
        throw abort(
          `${describe(d)}: ${from} has more than the piece's ${max} unpadded bytes (the deal's payload is ` +
            `${d.payloadSize}): the data does not match the deal`,
        );
      }
      const keep = Math.max(0, Math.min(chunk.length, d.payloadSize - seen));
      if (keep < chunk.length && chunk.subarray(keep).some((b) => b !== 0)) {
        throw abort(
          `${describe(d)}: ${from} has more than the deal's ${d.payloadSize} payload bytes: the data does not match the deal`,
        );
      }
      if (keep > 0) {
        const part = chunk.subarray(0, keep);
        h.update(part);
        let off = 0;
        while (off < part.length) {
          const { bytesWritten } = await fh.write(part, off, part.length - off, seen + off);
          off += bytesWritten;
        }
      }
      seen += chunk.length;
    }
    if (seen < d.payloadSize) {
      throw abort(
        `${describe(d)}: ${from} has ${seen} bytes, the deal's payload is ${d.payloadSize}: the data does not match the deal`,
      );
    }
    await fh.sync();
  } catch (err) {
    throw readFailure(d, from, err);
  } finally {
    await fh.close();
  }
  return h.digest(d.size).commP;
}

/** Is an earlier run's file the right piece? (size, then CommP) */
async function reusable(d: DealPiece, path: string, want: Uint8Array): Promise<boolean> {
  try {
    if ((await stat(path)).size !== d.payloadSize) return false;
  } catch {
    return false;
  }
  const { commP } = await commPOfFile(path, d.size);
  return Buffer.from(commP).equals(Buffer.from(want));
}

/**
 * Puts the deal's payload at `<dir>/<cid>` (exactly PayloadSize bytes) with its CommP checked against the
 * deal's piece CID. Throws a Failure (abort: the bytes disagree with the deal; temporary: a source that could
 * not be read; permanent: no source configured, or a refused token).
 */
export async function stagePiece(d: DealPiece, dir: string, src: PieceSources): Promise<StagedPiece> {
  const want = cidToCommP(d.cid);
  const path = join(dir, d.cid);
  const tmp = `${path}.tmp`;
  await mkdir(dir, { recursive: true });
  if (await reusable(d, path, want)) return { path, reused: true, from: path };
  await rm(path, { force: true });
  await rm(tmp, { force: true });

  let from: string;
  let commP: Uint8Array;
  const local = await findLocalPiece(src.localPiecesDirs, d.cid);
  try {
    if (local) {
      from = local;
      commP = await copyChecked(d, createReadStream(local, { highWaterMark: 1 << 20 }), tmp, from);
    } else {
      if (!src.pieceStoreUrl) {
        throw perm(`${describe(d)}: not in local_pieces_dirs, and no piece store to fetch it from`);
      }
      const url = `${src.pieceStoreUrl.replace(/\/$/, '')}/${d.cid}`;
      let opened: Awaited<ReturnType<typeof openPieceUrl>>;
      try {
        opened = await openPieceUrl(url, {
          headers: firstHeaders(src),
          redirectHeaders: redirectHeaders(src),
          signal: src.signal,
          idleTimeoutMs: src.idleTimeoutMs,
        });
      } catch (err) {
        if (err instanceof PieceStatusError) {
          if (err.status === 401 || err.status === 403) {
            throw perm(
              `${describe(d)}: ${err.message} (check the worker's manager token and [sector_manager] piece_token)`,
            );
          }
          if (err.status === 0) throw perm(`${describe(d)}: ${err.message}`);
          // 404: not (yet) in any piece store; 5xx: the server's trouble — both may pass
          throw temp(`${describe(d)}: ${err.message}`, err);
        }
        if (err instanceof PieceNetworkError) throw temp(`${describe(d)}: ${err.message}`, err);
        throw err;
      }
      from = opened.from;
      const max = unpaddedPieceSize(d.size);
      if (opened.length !== null && opened.length > max) {
        opened.body.destroy();
        throw abort(
          `${describe(d)}: ${from} announces ${opened.length} bytes, more than the piece's ${max} unpadded bytes: ` +
            'the data does not match the deal',
        );
      }
      try {
        commP = await copyChecked(d, opened.body, tmp, from);
      } finally {
        opened.body.destroy();
      }
    }
    if (!Buffer.from(commP).equals(Buffer.from(want))) {
      throw abort(
        `${describe(d)}: the data from ${from} has CommP ${hex(commP)}, the deal's piece CID says ${hex(want)}: ` +
          'the data does not match the deal (sector aborted, its deals released)',
      );
    }
    await rename(tmp, path);
    await fsyncPath(dir);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { path, reused: false, from };
}
