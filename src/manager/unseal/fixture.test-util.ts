/** A manager database holding sealed sectors with deal pieces, for the unseal, market-event and dashboard tests. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { SectorID, SectorState } from '../../api/sealer.js';
import { commDToCid, commPToCid, commRToCid } from '../../fil/index.js';
import { ManagerStore, newSectorState } from '../db.js';
import { DealStore } from '../market/store.js';
import { openTestDb } from '../sql/pg.test-util.js';
import { UnsealTasks, type UnsealTasksOptions } from './tasks.js';

export const MINER = 1000;

/** A random piece CID (the bytes need not be a real CommP here). */
export function pieceCid(): string {
  return commPToCid(randomBytes(32)).toString();
}

/**
 * Puts a finalized 2 KiB sector (proof type 5) with two 1 KiB deal pieces, A at 0 and B at 1024 (padded), sealed
 * into persist store "store-1". Returns the piece CIDs.
 */
export function addSealedSector(
  db: ManagerStore,
  number: number,
  opts: { online?: boolean } = {},
): { a: string; b: string; sid: SectorID } {
  const sid = { Miner: MINER, Number: number };
  const a = pieceCid();
  const b = pieceCid();
  const s: SectorState = newSectorState(sid, 5);
  s.Pieces = [
    {
      Piece: { Size: 1024, PieceCID: { '/': a } },
      DealInfo: {
        DealID: 0,
        AllocationID: 7,
        PayloadSize: 900,
        Offset: 0,
        IsBuiltinMarket: false,
        IsCompatible: false,
        Client: 't01001',
      },
    },
    {
      Piece: { Size: 1024, PieceCID: { '/': b } },
      DealInfo: {
        DealID: 12,
        AllocationID: 0,
        PayloadSize: 1000,
        Offset: 1024,
        IsBuiltinMarket: true,
        IsCompatible: false,
        Client: 't01002',
      },
    },
  ];
  s.Ticket = { Ticket: Buffer.alloc(32, 1).toString('base64'), Epoch: 10 };
  s.Pre = {
    CommR: { '/': commRToCid(randomBytes(32)).toString() },
    CommD: { '/': commDToCid(Buffer.alloc(32, 2)).toString() },
    Ticket: s.Ticket,
  };
  s.Finalized = opts.online !== true;
  db.putSector(s, opts.online === true);
  // the deal records AcquireDeals writes with the pieces
  new DealStore(db.db).add(
    s.Pieces.map((p, idx) => ({
      miner: MINER,
      number,
      idx,
      kind: p.DealInfo!.IsBuiltinMarket ? 'market' : 'ddo',
      dealId: p.DealInfo!.DealID,
      allocationId: p.DealInfo!.AllocationID,
      pieceCid: p.Piece.PieceCID['/'],
      pieceSize: p.Piece.Size,
      payloadSize: p.DealInfo!.PayloadSize,
      offset: p.DealInfo!.Offset ?? 0,
      client: p.DealInfo!.Client ?? '',
      startEpoch: 100,
      endEpoch: 600_000,
      state: 'assigned' as const,
      assignedAt: Date.now(),
    })),
  );
  db.indexSector('normal', sid, { SealedFile: 'store-1', CacheDir: 'store-1' });
  return { a, b, sid };
}

export function tempDb(dir = mkdtempSync(join(tmpdir(), 'vsm-unseal-'))): { dir: string; db: ManagerStore } {
  return { dir, db: new ManagerStore(openTestDb(join(dir, 'manager.db'))) };
}

export function makeTasks(db: ManagerStore, o: Partial<UnsealTasksOptions> = {}): UnsealTasks {
  return new UnsealTasks({ store: db, registry: new Registry(), ...o });
}
