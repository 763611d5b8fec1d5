/**
 * Deal pieces on the worker: placement at the market's offsets (CommD checked against an independent model and
 * rust's vector), and fetching (local dirs, the manager's piece store with a redirect to the market, bounds,
 * the CommP check, failure levels). Servers bind 127.0.0.1 on free ports and close at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Piece } from '@web3-storage/data-segment';
import { SEAL_2KIB_POLKA_DATA } from '../../../test/vectors/index.js';
import type { SectorPieceV2 } from '../../api/sealer.js';
import { commPToCid } from '../../fil/index.js';
import { commPOfBuffer, computeCommD, generateTreeD, zeroCommitment } from '../../proofs/index.js';
import { builtinAddPieces } from '../processor/builtin.js';
import { Failure } from '../sealing/failure.js';
import { type DealPiece, LayoutError, type PieceSources, placePieces, stagePiece, zeroFill } from './index.js';

let base: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'pieces-'));
});
after(() => rm(base, { recursive: true, force: true }));

const hex = (b: Uint8Array | number[]) => Buffer.from(Uint8Array.from(b)).toString('hex');

/** A deal piece of `size` padded bytes holding `payload`, as the manager hands it over. */
function deal(payload: Uint8Array, size: number, offset?: number, ids = { DealID: 7, AllocationID: 0 }): SectorPieceV2 {
  const cid = commPToCid(commPOfBuffer(payload, size).commP).toString();
  return {
    Piece: { Size: size, PieceCID: { '/': cid } },
    DealInfo: {
      ...ids,
      PieceCID: { '/': cid },
      PieceSize: size,
      PayloadSize: payload.length,
      Offset: offset,
      IsBuiltinMarket: ids.DealID !== 0,
      IsCompatible: false,
    },
  };
}

function dealPiece(p: SectorPieceV2, offset = 0): DealPiece {
  return {
    kind: 'deal',
    offset,
    size: p.Piece.Size,
    cid: p.Piece.PieceCID['/'],
    payloadSize: p.DealInfo!.PayloadSize,
    index: 0,
    piece: p,
  };
}

describe('placement at the market offsets', () => {
  it('fills gaps and the tail with the fewest aligned zero pieces', () => {
    assert.deepEqual(
      zeroFill(0, 2048).map((z) => [z.offset, z.size]),
      [[0, 2048]],
    );
    // from an unaligned start the pieces grow, towards the end they shrink
    assert.deepEqual(
      zeroFill(128, 1920).map((z) => [z.offset, z.size]),
      [
        [128, 128],
        [256, 256],
        [512, 512],
        [1024, 512],
        [1536, 256],
        [1792, 128],
      ],
    );
  });

  it('a CC sector is one zero piece of the sector', () => {
    assert.deepEqual(placePieces(2048, null), [{ kind: 'zero', offset: 0, size: 2048 }]);
    assert.deepEqual(placePieces(2048, []), [{ kind: 'zero', offset: 0, size: 2048 }]);
  });

  it('places deals at their offsets in offset order, whatever the list order', () => {
    const a = deal(randomBytes(200), 256, 512);
    const b = deal(randomBytes(100), 128, 1024);
    const placed = placePieces(2048, [b, a]);
    assert.deepEqual(
      placed.map((p) => [p.kind, p.offset, p.size]),
      [
        ['zero', 0, 512],
        ['deal', 512, 256],
        ['zero', 768, 256],
        ['deal', 1024, 128],
        ['zero', 1152, 128],
        ['zero', 1280, 256],
        ['zero', 1536, 512],
      ],
    );
    // every piece is aligned to its size, and the list tiles the sector
    let pos = 0;
    for (const p of placed) {
      assert.equal(p.offset, pos);
      assert.equal(p.offset % p.size, 0);
      pos += p.size;
    }
    assert.equal(pos, 2048);
  });

  it('without offsets, places pieces in list order with rust alignment (pledge pieces included)', () => {
    const a = deal(randomBytes(100), 128);
    const b = deal(randomBytes(300), 512);
    const pledge: SectorPieceV2 = {
      Piece: { Size: 128, PieceCID: { '/': commPToCid(zeroCommitment(128)).toString() } },
      DealInfo: null,
    };
    const placed = placePieces(2048, [a, pledge, b]);
    assert.deepEqual(
      placed.map((p) => [p.kind, p.offset, p.size]),
      [
        ['deal', 0, 128],
        ['zero', 128, 128],
        ['zero', 256, 256],
        ['deal', 512, 512],
        ['zero', 1024, 1024],
      ],
    );
  });

  it('refuses layouts that cannot be sealed', () => {
    const bad = (pieces: SectorPieceV2[], re: RegExp) =>
      assert.throws(
        () => placePieces(2048, pieces),
        (e: unknown) => e instanceof LayoutError && re.test((e as Error).message),
      );
    bad([deal(randomBytes(10), 256, 128)], /not a multiple of its size/);
    bad([deal(randomBytes(10), 256, 0), deal(randomBytes(10), 128, 128)], /overlaps/);
    bad([deal(randomBytes(10), 1024, 2048)], /ends past/);
    bad([deal(randomBytes(10), 4096, 0)], /not a power of two between 128 and the sector/);
    bad([deal(randomBytes(10), 256, 0), deal(randomBytes(10), 256)], /all or none/);
    const big = deal(randomBytes(10), 128, 0);
    big.DealInfo!.PayloadSize = 128;
    bad([big], /PayloadSize 128 is outside 1\.\.127/);
    const other = deal(randomBytes(10), 128, 0);
    other.DealInfo!.PieceCID = { '/': commPToCid(zeroCommitment(256)).toString() };
    bad([other], /differs from the piece's/);
    const notZero: SectorPieceV2 = { ...deal(randomBytes(50), 128), DealInfo: null };
    bad([deal(randomBytes(10), 128, 0), notZero], /is not the zero piece/);
    bad(
      [{ Piece: { Size: 128, PieceCID: { '/': '../../etc' } }, DealInfo: deal(randomBytes(1), 128, 0).DealInfo }],
      /not a CID string/,
    );
  });

  it('CommD from the placed pieces equals the tree over the sector bytes (independent model) and tree_d of the staged file', async () => {
    const payloads = [randomBytes(70), randomBytes(250), randomBytes(1000)];
    const pieces = [deal(payloads[0]!, 128, 128), deal(payloads[1]!, 256, 256), deal(payloads[2]!, 1024, 1024)];
    const placed = placePieces(2048, pieces);
    const dir = join(base, 'commd');
    await mkdir(dir, { recursive: true });
    const files = await Promise.all(
      payloads.map(async (p, i) => {
        const f = join(dir, `p${i}`);
        await writeFile(f, p);
        return f;
      }),
    );
    const staged = join(dir, 'staged');
    const out = await builtinAddPieces({
      seal_proof_type: 5, // StackedDrg2KiBV1_1
      staged_filepath: staged,
      pieces: placed.map((p) => {
        const size = (p.size / 128) * 127;
        if (p.kind === 'zero') return { piece_file: 'pledge' as const, payload_size: size, piece_size: size };
        return {
          piece_file: { local: files[pieces.indexOf(p.piece)]! },
          payload_size: p.payloadSize,
          piece_size: size,
        };
      }),
    });
    const commD = computeCommD(
      2048,
      out.map((p) => ({ size: p.size, commitment: Uint8Array.from(p.commitment) })),
    );
    // the model: 2032 unpadded bytes, each payload at its offset·127/128, zeros elsewhere
    const sector = new Uint8Array(2032);
    for (const [i, p] of pieces.entries()) sector.set(payloads[i]!, (p.DealInfo!.Offset! / 128) * 127);
    const model = Piece.fromPayload(sector);
    assert.equal(Number(model.size), 2048);
    assert.equal(hex(commD), hex(model.root));
    const tree = await generateTreeD({ stagedPath: staged, cacheDir: join(dir, 'tree'), sectorSize: 2048 });
    assert.equal(hex(tree.commD), hex(commD));
  });

  it("one full-sector deal gives rust's CommD (test/vectors/seal-2kib-polka)", () => {
    const data = readFileSync(SEAL_2KIB_POLKA_DATA);
    const [p] = placePieces(2048, [deal(data, 2048, 0)]);
    assert.equal(p!.kind, 'deal');
    const commD = computeCommD(2048, [{ size: 2048, commitment: commPOfBuffer(data, 2048).commP }]);
    assert.equal(hex(commD), '129c7562bb0c189544f5dccd365feaec2141eab458097a5ca8429c109d154421');
  });
});

// ---------------------------------------------------------------------------------------------------------

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
async function serve(h: Handler): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(h);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('fetching a deal piece', () => {
  const payload = randomBytes(3000);
  const sp = deal(payload, 4096, 0);
  const d = dealPiece(sp);
  const cid = d.cid;
  const src = (o: Partial<PieceSources> = {}): PieceSources => ({
    localPiecesDirs: [],
    pieceStoreUrl: null,
    managerHeaders: {},
    pieceToken: null,
    idleTimeoutMs: 2000,
    ...o,
  });
  let n = 0;
  const stageDir = () => join(base, `stage${n++}`);
  const level = (re: RegExp, lv: string) => (e: unknown) => {
    assert.ok(e instanceof Failure, `not a Failure: ${e}`);
    assert.equal(e.level, lv, e.message);
    assert.match(e.message, re);
    return true;
  };

  it('takes <dir>/<cid>, then <dir>/<cid>.car, from local_pieces_dirs; reuses a checked copy; refetches a bad one', async () => {
    const l1 = join(base, 'local1');
    const l2 = join(base, 'local2');
    await mkdir(l1, { recursive: true });
    await mkdir(l2, { recursive: true });
    await writeFile(join(l2, `${cid}.car`), payload);
    const dir = stageDir();
    const a = await stagePiece(d, dir, src({ localPiecesDirs: [l1, l2] }));
    assert.equal(a.from, join(l2, `${cid}.car`));
    assert.equal(a.reused, false);
    assert.deepEqual(await readFile(a.path), payload);
    const b = await stagePiece(d, dir, src({ localPiecesDirs: [] }));
    assert.equal(b.reused, true);
    // a staged copy damaged after a crash (same size, other bytes) is not trusted
    const bad = Buffer.from(payload);
    bad[10] ^= 1;
    await writeFile(a.path, bad);
    await writeFile(join(l1, cid), payload);
    const c = await stagePiece(d, dir, src({ localPiecesDirs: [l1, l2] }));
    assert.equal(c.reused, false);
    assert.equal(c.from, join(l1, cid));
    assert.deepEqual(await readFile(c.path), payload);
  });

  it("follows the manager's redirect to the market, swapping the worker's token for the piece token", async () => {
    const seen: Record<string, unknown>[] = [];
    const market = await serve((req, res) => {
      seen.push({
        at: 'market',
        url: req.url,
        auth: req.headers.authorization,
        ns: req.headers['x-venus-api-namespace'],
      });
      if (req.headers.authorization !== 'Bearer piece-tok' || req.headers['x-venus-api-namespace'] !== 'v1.IMarket') {
        res.writeHead(401).end('bad token');
        return;
      }
      res.writeHead(200, { 'Content-Length': payload.length }).end(payload);
    });
    const manager = await serve((req, res) => {
      seen.push({ at: 'manager', url: req.url, auth: req.headers.authorization });
      if (req.headers.authorization !== 'Bearer worker-tok') return void res.writeHead(401).end();
      const c = req.url!.split('/').pop();
      res.writeHead(302, { Location: `${market.url}/resource?resource-id=${c}` }).end();
    });
    try {
      const got = await stagePiece(
        d,
        stageDir(),
        src({
          pieceStoreUrl: `${manager.url}/piecestore`,
          managerHeaders: { Authorization: 'Bearer worker-tok' },
          pieceToken: 'piece-tok',
        }),
      );
      assert.deepEqual(await readFile(got.path), payload);
      assert.equal(got.from, `${market.url}/resource`);
      assert.deepEqual(seen, [
        { at: 'manager', url: `/piecestore/${cid}`, auth: 'Bearer worker-tok' },
        { at: 'market', url: `/resource?resource-id=${cid}`, auth: 'Bearer piece-tok', ns: 'v1.IMarket' },
      ]);
    } finally {
      await manager.close();
      await market.close();
    }
  });

  it('refuses a body longer than the deal (abort), accepts zero padding up to the piece', async () => {
    let body: Buffer = Buffer.concat([payload, Buffer.from([1])]);
    let announce = true;
    const s = await serve((_req, res) => {
      if (announce) res.writeHead(200, { 'Content-Length': body.length });
      else res.writeHead(200);
      res.end(body);
    });
    try {
      const dir = stageDir();
      await assert.rejects(
        stagePiece(d, dir, src({ pieceStoreUrl: s.url })),
        level(/more than the deal's 3000 payload bytes/, 'abort'),
      );
      body = Buffer.alloc(4064 + 1); // announced past the piece's unpadded size: refused before reading
      await assert.rejects(stagePiece(d, dir, src({ pieceStoreUrl: s.url })), level(/announces 4065 bytes/, 'abort'));
      announce = false; // the same without Content-Length: cut while reading
      await assert.rejects(
        stagePiece(d, dir, src({ pieceStoreUrl: s.url })),
        level(/more than the piece's 4064 unpadded bytes/, 'abort'),
      );
      body = Buffer.concat([payload, Buffer.alloc(1064)]); // the payload zero-padded to the piece
      const got = await stagePiece(d, dir, src({ pieceStoreUrl: s.url }));
      assert.equal((await stat(got.path)).size, 3000);
      body = payload.subarray(0, 2999);
      await rm(got.path);
      await assert.rejects(stagePiece(d, dir, src({ pieceStoreUrl: s.url })), level(/has 2999 bytes/, 'abort'));
    } finally {
      await s.close();
    }
  });

  it('aborts when the CommP of the bytes differs from the deal, leaving nothing behind', async () => {
    const wrong = Buffer.from(payload);
    wrong[0] ^= 0xff;
    const s = await serve((_req, res) => res.writeHead(200, { 'Content-Length': wrong.length }).end(wrong));
    const dir = stageDir();
    try {
      await assert.rejects(
        stagePiece(d, dir, src({ pieceStoreUrl: s.url })),
        level(
          /has CommP [0-9a-f]{64}, the deal's piece CID says [0-9a-f]{64}: the data does not match the deal/,
          'abort',
        ),
      );
      await assert.rejects(stat(join(dir, cid)));
      await assert.rejects(stat(join(dir, `${cid}.tmp`)));
    } finally {
      await s.close();
    }
  });

  it('network errors and 404/5xx are temporary; a refused token is permanent', async () => {
    let mode = 'cut';
    const s = await serve((_req, res) => {
      if (mode === 'cut') {
        res.writeHead(200, { 'Content-Length': payload.length });
        res.write(payload.subarray(0, 1000));
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (mode === '404') res.writeHead(404).end('no such piece');
      else if (mode === '503') res.writeHead(503).end();
      else if (mode === '403') res.writeHead(403).end('token refused');
      else if (mode === 'hang') res.writeHead(200, { 'Content-Length': payload.length });
    });
    const dir = stageDir();
    try {
      await assert.rejects(stagePiece(d, dir, src({ pieceStoreUrl: s.url })), level(/reading/, 'temporary'));
      mode = '404';
      await assert.rejects(
        stagePiece(d, dir, src({ pieceStoreUrl: s.url })),
        level(/HTTP 404: no such piece/, 'temporary'),
      );
      mode = '503';
      await assert.rejects(stagePiece(d, dir, src({ pieceStoreUrl: s.url })), level(/HTTP 503/, 'temporary'));
      mode = '403';
      await assert.rejects(
        stagePiece(d, dir, src({ pieceStoreUrl: s.url })),
        level(/HTTP 403: token refused .*piece_token/, 'permanent'),
      );
      mode = 'hang';
      await assert.rejects(
        stagePiece(d, dir, src({ pieceStoreUrl: s.url, idleTimeoutMs: 200 })),
        level(/no answer/, 'temporary'),
      );
      await assert.rejects(stat(join(dir, `${cid}.tmp`)));
    } finally {
      await s.close();
    }
    // nobody listening any more
    await assert.rejects(
      stagePiece(d, dir, src({ pieceStoreUrl: s.url })),
      level(/ECONNREFUSED|ECONNRESET|socket hang up/, 'temporary'),
    );
    await assert.rejects(stagePiece(d, dir, src()), level(/not in local_pieces_dirs/, 'permanent'));
  });
});
