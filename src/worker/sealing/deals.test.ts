/**
 * Deal sectors and the unseal plan through real sealing threads, against the fake Venus.* manager and small
 * piece-store / market servers on 127.0.0.1: deal pieces fetched with the worker's token, placed at the
 * market's offsets, CommD equal to an independent model of the sector's bytes; a piece whose bytes disagree
 * with its deal aborts the sector before anything is sealed; the unseal plan decodes a piece from the
 * persisted replica, checks its CommP and uploads it to file://, market:// and http:// destinations; a crash
 * at any state of either plan resumes. AddPieces, TreeD, PC1, PC2 and unseal are the real proofs on 2KiB
 * sectors; C1 and C2 are test doubles (this file is about the state machines).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Piece } from '@web3-storage/data-segment';
import { SectorStateNotFoundError } from '../../api/errors.js';
import type { SectorPieceV2, SectorUnsealInfo } from '../../api/sealer.js';
import { commPToCid } from '../../fil/index.js';
import { commPOfBuffer } from '../../proofs/index.js';
import { SEALER_PIPELINE } from './states.js';
import type { FakeManager } from './testkit.js';
import type { ThreadDeps } from './thread.js';
import { crashAtEveryState, testBase, threadHarness, until } from './threads.test-util.js';

const base = await testBase('deals-');

const hex = (b: Uint8Array | number[]) => Buffer.from(Uint8Array.from(b)).toString('hex');

function deal(payload: Uint8Array, size: number, offset: number, id: number): SectorPieceV2 {
  const cid = commPToCid(commPOfBuffer(payload, size).commP).toString();
  return {
    Piece: { Size: size, PieceCID: { '/': cid } },
    DealInfo: {
      DealID: id,
      AllocationID: 0,
      PieceCID: { '/': cid },
      PieceSize: size,
      PayloadSize: payload.length,
      Offset: offset,
      IsBuiltinMarket: true,
      IsCompatible: false,
    },
  };
}

/** A small HTTP server; `h` answers, every request is recorded. */
async function serve(h: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void) {
  const seen: { method: string; url: string; auth: string | undefined; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      h(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return { url, seen, close };
}

let n = 0;
async function setup() {
  const dir = join(base, `t${n++}`);
  const location = join(dir, 'store');
  const unsealLocation = join(dir, 'unseal-store');
  // the manager's piece store: the worker's token, then the bytes (tests swap `pieces` to serve bad data)
  const pieces = new Map<string, Buffer>();
  const store = await serve((req, _body, res) => {
    if (req.headers.authorization !== 'Bearer worker-token') return void res.writeHead(401).end();
    const data = pieces.get(req.url!.replace('/piecestore/', ''));
    if (!data) return void res.writeHead(404).end('no such piece');
    res.writeHead(200, { 'Content-Length': data.length }).end(data);
  });
  const h = await threadHarness(dir, {
    stores: [location, unsealLocation],
    sealing: { enableDeals: true },
    deps: {
      pieceStoreUrl: `${store.url}/piecestore`,
      pieceToken: 'piece-token',
      managerHeaders: { Authorization: 'Bearer worker-token' },
    },
  });
  const { remote, mgr, sealing, deps } = h;
  const newThread = (plan: 'sealer' | 'unseal' = 'sealer', d: ThreadDeps = deps) =>
    h.newThread(
      { location: plan === 'sealer' ? location : unsealLocation, plan, sealing },
      plan === 'sealer' ? 0 : 1,
      d,
    );
  const cleanup = async () => {
    await h.cleanup();
    await store.close();
  };
  return { dir, location, unsealLocation, remote, mgr, pieces, store, deps, newThread, cleanup };
}

// two deals at the market's offsets in a 2KiB sector, listed out of offset order, with gaps around them
const A = randomBytes(300);
const B = randomBytes(100);
const dealA = deal(A, 512, 1024, 11);
const dealB = deal(B, 128, 256, 12);
const cidA = dealA.Piece.PieceCID['/'];
const cidB = dealB.Piece.PieceCID['/'];

/** The sector's unpadded bytes as the market laid them out: the independent model of CommD. */
function modelCommD(): string {
  const sector = new Uint8Array(2032);
  sector.set(A, (1024 / 128) * 127);
  sector.set(B, (256 / 128) * 127);
  return hex(Piece.fromPayload(sector).root);
}

function unsealTask(mgr: FakeManager): SectorUnsealInfo {
  const s = mgr.sectors.get(1)!;
  return {
    Sector: s.allocated,
    PieceCid: { '/': cidA },
    Offset: (1024 / 128) * 127,
    Size: 508,
    PrivateInfo: { AccessInstance: s.persisted! },
    Ticket: s.ticket!,
    CommD: s.pre!.CommD,
    Dest: null,
    State: 'set_up',
    ErrorInfo: '',
  };
}

/** setup() with the piece store serving both deals, the manager handing them out, and a market taking uploads. */
async function withDeals() {
  const s = await setup();
  const market = await serve((_req, _b, res) => res.writeHead(200).end());
  s.pieces.set(cidA, A);
  s.pieces.set(cidB, B);
  s.mgr.nextDeals = [dealA, dealB];
  return { s, market };
}

describe('deal sectors and the unseal plan', () => {
  it('seals deal pieces at their offsets, then unseals one back to file://, market:// and http://', async () => {
    const { s, market } = await withDeals();
    try {
      await s.newThread();
      await until('the deal sector finalized', () => s.mgr.sectors.get(1)?.finalized === true);
      const sector = s.mgr.sectors.get(1)!;
      assert.equal(sector.abortReason, null);
      assert.equal(hex(sector.pre!.CommD), modelCommD(), 'CommD is the tree over the sector as the market laid it out');
      assert.deepEqual(
        s.store.seen.map((r) => [r.url, r.auth]),
        [
          [`/piecestore/${cidB}`, 'Bearer worker-token'],
          [`/piecestore/${cidA}`, 'Bearer worker-token'],
        ],
      );

      // the unseal plan, on another seal store
      const out = join(s.dir, 'out', 'piece.bin');
      s.mgr.unsealTasks = [unsealTask(s.mgr)];
      s.mgr.unsealDests = [
        `file://${out}`,
        `market://pieces1/${cidA}?host=${new URL(market.url).host}&scheme=http&token=market-token`,
        `${market.url}/upload/here`,
      ];
      // a manager that keeps no online state for the unsealed sector: the answered task is not contradicted
      s.mgr.failNext('ReportFinalized', () => new SectorStateNotFoundError('sector state not found'));
      const t = await s.newThread('unseal');
      await until('the piece uploaded and reported', () => s.mgr.achieved.length === 1);
      assert.deepEqual(s.mgr.achieved, [{ sid: { Miner: 1000, Number: 1 }, pieceCid: cidA, errInfo: '' }]);
      const want = Buffer.concat([A, Buffer.alloc(508 - A.length)]);
      assert.deepEqual(await readFile(out), want);
      assert.deepEqual(
        market.seen.map((r) => [r.method, r.url, r.auth]),
        [
          ['PUT', `/resource?resource-id=${cidA}&size=508&store=pieces1`, 'Bearer market-token'],
          ['PUT', '/upload/here', 'Bearer piece-token'],
        ],
      );
      for (const r of market.seen) assert.deepEqual(r.body, want);
      await until('the unseal store wiped', async () => (await readdir(join(s.unsealLocation, 'meta'))).length === 0);
      assert.equal(s.mgr.achieved.length, 1);
      assert.equal(t.info().plan, 'unseal');
      assert.ok(s.mgr.calls.includes('ReportFinalized'));
    } finally {
      await market.close();
      await s.cleanup();
    }
  });

  it('aborts a sector whose piece bytes disagree with the deal before anything is sealed, naming why', async () => {
    const s = await setup();
    try {
      const bad = Buffer.from(A);
      bad[5] ^= 0x80;
      s.pieces.set(cidA, bad);
      s.pieces.set(cidB, B);
      s.mgr.nextDeals = [dealA, dealB];
      await s.newThread();
      await until('the sector aborted', () => s.mgr.sectors.get(1)?.abortReason != null);
      const reason = s.mgr.sectors.get(1)!.abortReason!;
      assert.match(reason, new RegExp(`piece ${cidA} \\(deal 11, 512 bytes at offset 1024\\)`));
      assert.match(
        reason,
        /has CommP [0-9a-f]{64}, the deal's piece CID says [0-9a-f]{64}: the data does not match the deal/,
      );
      assert.ok(!s.mgr.calls.includes('AssignTicket'), 'nothing was sealed');
      await until('the store wiped', async () => (await readdir(join(s.location, 'data'))).length === 0);
    } finally {
      await s.cleanup();
    }
  });

  it('an unseal whose bytes do not hash to the piece CID is answered with the reason', async () => {
    const s = await setup();
    try {
      s.pieces.set(cidA, A);
      s.pieces.set(cidB, B);
      s.mgr.nextDeals = [dealA, dealB];
      await s.newThread();
      await until('the deal sector finalized', () => s.mgr.sectors.get(1)?.finalized === true);
      // the manager points at the wrong range: B's CID over A's bytes
      s.mgr.unsealTasks = [{ ...unsealTask(s.mgr), PieceCid: { '/': cidB }, Size: 127 }];
      await s.newThread('unseal');
      await until('the unseal answered', () => s.mgr.achieved.length === 1);
      assert.match(s.mgr.achieved[0]!.errInfo, /have CommP [0-9a-f]{64}, not the piece CID's/);
      assert.ok(!s.mgr.calls.includes('AcquireUnsealDest'), 'nothing uploaded');
    } finally {
      await s.cleanup();
    }
  });

  it('answers an unseal task it cannot run, waits for the next, and pauses on a replica it cannot reach', async () => {
    const s = await setup();
    try {
      const task: SectorUnsealInfo = {
        Sector: { ID: { Miner: 1000, Number: 7 }, ProofType: 5 },
        PieceCid: { '/': cidA },
        Offset: 0,
        Size: 508,
        PrivateInfo: { AccessInstance: '' },
        Ticket: { Ticket: Buffer.alloc(32, 1).toString('base64'), Epoch: 10 },
        CommD: Array.from(Buffer.alloc(32, 2)),
        Dest: null,
        State: 'set_up',
        ErrorInfo: '',
      };
      s.mgr.unsealTasks = [task];
      const t = await s.newThread('unseal');
      await until('the task refused', () => s.mgr.achieved.length === 1);
      assert.match(s.mgr.achieved[0]!.errInfo, /refused by the worker: PrivateInfo\.AccessInstance .* is empty/);
      await until('waiting for the next task', () => t.info().thread_state.state === 'Waiting');
      assert.match(t.info().thread_state.proc ?? '', /^unseal task, next check/);
      // a store this worker does not attach: the operator must act (the thread pauses, the task is kept)
      s.mgr.unsealTasks = [{ ...task, PrivateInfo: { AccessInstance: 'elsewhere' } }];
      await until('paused', () => t.info().thread_state.state === 'Paused');
      assert.match(t.info().last_error ?? '', /persist store "elsewhere", which this worker does not attach/);
      assert.equal(t.info().job_state, 'Allocated');
      assert.equal(t.info().job_stage, 'Unseal');
      assert.equal(s.mgr.achieved.length, 1);
    } finally {
      await s.cleanup();
    }
  });

  it('a crash at any state of a deal sector and of an unseal resumes it: pieces re-checked, not refetched', async () => {
    const { s, market } = await withDeals();
    try {
      const crashEvery = async (location: string, plan: 'sealer' | 'unseal', states: readonly string[]) => {
        const docPath = join(location, 'meta', 'sector.json');
        await crashAtEveryState({ mgr: s.mgr, docPath, states, newThread: () => s.newThread(plan) });
      };
      await crashEvery(s.location, 'sealer', SEALER_PIPELINE);
      await until('finalized', async () => s.mgr.sectors.get(1)?.finalized === true);
      assert.equal(hex(s.mgr.sectors.get(1)!.pre!.CommD), modelCommD());
      assert.equal(s.store.seen.length, 2, 'each piece fetched once: a rerun of AddPieces re-checks the staged copies');
      assert.deepEqual(
        s.mgr.messages.map((m) => m.kind),
        ['precommit', 'prove'],
      );

      const out = join(s.dir, 'out', 'piece.bin');
      s.mgr.unsealTasks = [unsealTask(s.mgr)];
      s.mgr.unsealDests = [`file://${out}`, `${market.url}/put`];
      await crashEvery(s.unsealLocation, 'unseal', ['Allocated', 'Unsealed', 'Finished']);
      await until('the unseal store wiped', async () => (await readdir(join(s.unsealLocation, 'meta'))).length === 0);
      assert.ok(s.mgr.achieved.length >= 1 && s.mgr.achieved.every((a) => a.errInfo === ''));
      assert.deepEqual(await readFile(out), Buffer.concat([A, Buffer.alloc(508 - A.length)]));
    } finally {
      await market.close();
      await s.cleanup();
    }
  });
});
