/**
 * The market's piece store, as droplet serves it (rpc/piece_storage_server.go): `GET /resource?resource-id=<cid>`
 * streams a piece's payload with Content-Length, `PUT /resource?resource-id=<cid>[&size=<n>][&piece-size=<padded>][&store=<name>]`
 * stores one (the client's import, or the unsealed copy a sealer uploads). Both need a bearer token (PUT: write).
 * A PUT is bounded by its size and the largest piece the devnet's sectors hold, written to a temporary file,
 * checked — the CommP of the received bytes, zero-extended to the piece size (the deal's, `piece-size`, or the
 * smallest holding them), must be the piece CID — and only then renamed into place.
 * Files: <devnet home>/market/pieces/<piece cid>.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { rename, rm, truncate } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { logger } from '../../common/log.js';
import { cidToCommP, commPToCid } from '../../fil/index.js';
import { CommPHasher, isValidPaddedPieceSize, unpaddedPieceSize } from '../../proofs/index.js';
import type { Caller } from '../../rpc/dispatch.js';
import { RpcError } from '../../rpc/index.js';

const log = logger('devnet.market.pieces');

/** Transfers served at once; more get 503 (each holds a file and a socket). */
const MAX_CONCURRENT = 16;

export class PieceStoreError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A piece CID as the market takes it: the string of a fil-commitment-unsealed CID, canonical form. */
export function parsePieceCid(s: string | null): string {
  if (!s) throw new PieceStoreError(400, 'resource-id is missing: /resource?resource-id=<piece cid>');
  if (s.length > 128) throw new PieceStoreError(400, 'resource-id is too long to be a piece CID');
  try {
    return commPToCid(cidToCommP(s)).toString();
  } catch (e) {
    throw new PieceStoreError(400, `resource-id ${JSON.stringify(s)} is not a piece CID: ${(e as Error).message}`);
  }
}

export interface PieceStoreOptions {
  dir: string;
  /** The largest payload accepted (the unpadded size of the largest sector). */
  maxBytes: number;
  /**
   * What the market's deals say of a CID: the padded piece size (checks the CommP, bounds a PUT) and the payload
   * size (an unsealed copy comes back zero-filled to the piece; the zeros past the payload are not kept).
   */
  pieceOf?: (pieceCid: string) => { pieceSize: number; payloadSize: number } | undefined;
  /** Called after a piece was stored (the market wakes whoever waits for it). */
  onStored?: (pieceCid: string, bytes: number) => void;
}

export class PieceStore {
  readonly dir: string;
  private active = 0;

  constructor(private readonly o: PieceStoreOptions) {
    this.dir = o.dir;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // temporary files of a PUT that a crash interrupted
    for (const f of readdirSync(this.dir)) if (f.endsWith('.part')) void rm(join(this.dir, f), { force: true });
  }

  path(pieceCid: string): string {
    return join(this.dir, pieceCid);
  }

  /** Bytes stored for the piece, or undefined. */
  size(pieceCid: string): number | undefined {
    const p = this.path(pieceCid);
    return existsSync(p) ? statSync(p).size : undefined;
  }

  async remove(pieceCid: string): Promise<void> {
    await rm(this.path(pieceCid), { force: true });
  }

  /**
   * Stores `source` as the piece `pieceCid`: at most `size` bytes (exactly, when given), the CommP checked against
   * the CID (over the deal's piece size if the market knows one), atomically renamed into place.
   */
  async put(pieceCid: string, source: AsyncIterable<Uint8Array>, size?: number, pieceSize?: number): Promise<number> {
    const deal = this.o.pieceOf?.(pieceCid);
    const dealSize = deal?.pieceSize;
    if (dealSize !== undefined && pieceSize !== undefined && dealSize !== pieceSize)
      throw new PieceStoreError(400, `piece-size ${pieceSize} differs from the deal's piece size ${dealSize}`);
    const known = dealSize ?? pieceSize;
    if (known !== undefined && !isValidPaddedPieceSize(known))
      throw new PieceStoreError(400, `piece-size must be a power of two ≥ 128, got ${known}`);
    const limit = Math.min(known !== undefined ? unpaddedPieceSize(known) : this.o.maxBytes, this.o.maxBytes);
    if (size !== undefined && size > limit)
      throw new PieceStoreError(413, `size ${size} is larger than the ${limit} bytes piece ${pieceCid} can hold`);
    const bound = size ?? limit;
    const tmp = join(this.dir, `${pieceCid}.${process.pid}.${Date.now()}.part`);
    const out = createWriteStream(tmp, { mode: 0o600 });
    const hasher = new CommPHasher();
    let received = 0;
    let dataEnd = 0; // one past the last non-zero byte
    try {
      for await (const chunk of source) {
        if (received + chunk.length > bound)
          throw new PieceStoreError(413, `body is larger than ${bound} bytes${size !== undefined ? ' (size)' : ''}`);
        for (let i = chunk.length - 1; i >= 0; i--) {
          if (chunk[i] !== 0) {
            dataEnd = received + i + 1;
            break;
          }
        }
        received += chunk.length;
        hasher.update(chunk);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
      }
      if (size !== undefined && received !== size)
        throw new PieceStoreError(400, `received ${received} bytes, size says ${size}`);
      await new Promise<void>((resolve, reject) => {
        out.once('error', reject);
        out.end(() => resolve());
      });
      let got: string;
      try {
        got = commPToCid(hasher.digest(known).commP).toString();
      } catch (e) {
        throw new PieceStoreError(400, `the received bytes do not fit the piece: ${(e as Error).message}`);
      }
      if (got !== pieceCid)
        throw new PieceStoreError(400, `the received bytes have piece CID ${got}, not ${pieceCid}: refused`);
      // an unsealed copy is the whole unpadded piece: keep the payload, not the zero fill after it
      if (deal && received > deal.payloadSize && dataEnd <= deal.payloadSize) await truncate(tmp, deal.payloadSize);
      await rename(tmp, this.path(pieceCid));
    } catch (e) {
      out.destroy();
      await rm(tmp, { force: true });
      throw e;
    }
    log.info({ piece: pieceCid, bytes: received }, 'piece stored');
    this.o.onStored?.(pieceCid, received);
    return received;
  }

  /** GET /resource handler body (the caller is authenticated). */
  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cid = parsePieceCid(url.searchParams.get('resource-id'));
    const size = this.size(cid);
    if (size === undefined) throw new PieceStoreError(404, `piece ${cid} is not in the market's piece store`);
    if (this.active >= MAX_CONCURRENT)
      throw new PieceStoreError(503, `${MAX_CONCURRENT} piece transfers already running; try again`);
    this.active++;
    try {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      await new Promise<void>((resolve) => {
        const rs = createReadStream(this.path(cid));
        rs.on('error', (e) => {
          log.warn({ piece: cid, err: e.message }, 'piece read failed');
          res.destroy(e);
          resolve();
        });
        res.on('close', () => {
          rs.destroy();
          resolve();
        });
        rs.pipe(res);
      });
    } finally {
      this.active--;
    }
  }

  /** PUT /resource handler body (the caller is authenticated with write). */
  async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cid = parsePieceCid(url.searchParams.get('resource-id'));
    const store = url.searchParams.get('store');
    if (store !== null && (store.length > 128 || !/^[\w.-]*$/.test(store)))
      throw new PieceStoreError(400, 'store must be a short name (letters, digits, . _ -)');
    const sizeParam = url.searchParams.get('size');
    let size: number | undefined;
    if (sizeParam !== null) {
      if (!/^\d{1,16}$/.test(sizeParam))
        throw new PieceStoreError(400, `size must be a byte count, got "${sizeParam}"`);
      size = Number(sizeParam);
    }
    const pieceSizeParam = url.searchParams.get('piece-size');
    let pieceSize: number | undefined;
    if (pieceSizeParam !== null) {
      if (!/^\d{1,16}$/.test(pieceSizeParam))
        throw new PieceStoreError(400, `piece-size must be a padded byte count, got "${pieceSizeParam}"`);
      pieceSize = Number(pieceSizeParam);
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      const n = Number(declared);
      if (size !== undefined && n !== size)
        throw new PieceStoreError(400, `Content-Length ${n} differs from size ${size}`);
      size ??= n;
    }
    if (this.active >= MAX_CONCURRENT)
      throw new PieceStoreError(503, `${MAX_CONCURRENT} piece transfers already running; try again`);
    this.active++;
    try {
      const n = await this.put(cid, req, size, pieceSize);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ PieceCid: cid, Size: n }));
    } finally {
      this.active--;
    }
  }
}

/** Mounts the piece store on the devnet's server: GET (read) and PUT (write), both with a bearer token. */
export function pieceRoutes(
  store: PieceStore,
  authenticate: (req: IncomingMessage) => Promise<Caller>,
): { get: (req: IncomingMessage, res: ServerResponse) => Promise<void>; put: typeof get } {
  const fail = (req: IncomingMessage, res: ServerResponse, status: number, message: string) => {
    if (status >= 500) log.warn({ method: req.method, status, err: message }, 'piece store request failed');
    else log.info({ method: req.method, status, err: message }, 'piece store request refused');
    req.resume();
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'text/plain', ...(status === 413 ? { Connection: 'close' } : {}) });
    res.end(`${message}\n`);
  };
  const guard =
    (perm: 'read' | 'write', fn: (req: IncomingMessage, res: ServerResponse) => Promise<void>) =>
    async (req: IncomingMessage, res: ServerResponse) => {
      try {
        const caller = await authenticate(req);
        if (!caller.token) throw new PieceStoreError(401, 'missing token: send "Authorization: Bearer <token>"');
        if (!caller.perms.includes(perm))
          throw new PieceStoreError(403, `${req.method} /resource needs a token with '${perm}' permission`);
        await fn(req, res);
      } catch (e) {
        if (e instanceof PieceStoreError) return fail(req, res, e.status, e.message);
        if (e instanceof RpcError && e.code === 401) return fail(req, res, 401, e.message);
        log.error({ method: req.method, err: (e as Error).message }, 'piece store request failed');
        return fail(req, res, 500, `piece store error: ${(e as Error).message}`);
      }
    };
  const get = guard('read', (req, res) => store.serve(req, res));
  return { get, put: guard('write', (req, res) => store.receive(req, res)) };
}
