/**
 * A simulated venus-worker with one sealing thread: its own WebSocket to the manager (the worker token), and
 * CC sectors driven through the calls the sealer plan makes, in its order (worker/sealing/planner/sealer.ts;
 * a ReportState after each state change as worker/sealing/thread.ts does): AllocateSector, AssignTicket,
 * SubmitPreCommit, PollPreCommitState until landed, StoreReserveSpace (and the files written to the store),
 * SubmitPersistedEx, WaitSeed until drawn, SubmitProof (the digest proof the manager checks), PollProofState
 * until landed, ReportFinalized; a WorkerPing now and then. The compute stages take no time: the thread only
 * waits between calls, to keep its pace (`gapMs`, 0 = back to back).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AllocatedSector,
  bytes32ToJson,
  OnChainState,
  SealerAPI,
  type SectorID,
  SubmitResult,
  sectorName,
} from '../../api/sealer.js';
import { blake2b256, encodeCbor, fromBase64, toBase64 } from '../../fil/index.js';
import { emptyCommD } from '../../proofs/index.js';
import { createClient } from '../../rpc/index.js';
import { digestSealProof } from './digest-proof.js';
import type { LatencyStats } from './stats.js';

/** RegisteredSealProof StackedDrg2KiBV1_1 */
const SEAL_PROOF = 5;
const SECTOR_SIZE = 2048;
const PING_EVERY_MS = 10_000;

export interface SimWorkerOptions {
  index: number;
  url: string;
  token: string;
  miner: number;
  store: { name: string; path: string };
  /** ms between the starts of two calls of this thread (0: back to back) */
  gapMs: number;
  stats: LatencyStats;
}

class Stop extends Error {}

export class SimWorker {
  private readonly client;
  private readonly instance: string;
  private readonly location: string;
  private next = 0;
  /** when the call in flight started (undefined: none) */
  private callStart: number | undefined;
  private lastPing = 0;
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(private readonly o: SimWorkerOptions) {
    this.client = createClient(SealerAPI, {
      url: o.url,
      headers: { Authorization: `Bearer ${o.token}` },
      timeoutMs: 30_000,
    });
    this.instance = `bench-worker-${o.index}`;
    this.location = `/bench/worker-${o.index}/store`;
  }

  start(): void {
    this.next = performance.now() + Math.random() * this.o.gapMs;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    await this.client.close();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.sector();
      } catch (err) {
        if (err instanceof Stop) return;
        // the error was counted with its call; a real worker would retry the state, this one starts afresh
      }
    }
  }

  /** One call at this thread's pace, timed and counted. */
  private async call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    if (this.stopping) throw new Stop();
    const now = performance.now();
    if (this.o.gapMs > 0) {
      this.next = Math.max(this.next + this.o.gapMs, now);
      if (this.next > now) await new Promise((r) => setTimeout(r, this.next - now));
      if (this.stopping) throw new Stop();
    }
    const t0 = performance.now();
    this.callStart = t0;
    try {
      const r = await fn();
      this.o.stats.record(method, performance.now() - t0);
      return r;
    } catch (err) {
      this.o.stats.record(method, performance.now() - t0, err);
      throw err;
    } finally {
      this.callStart = undefined;
    }
  }

  /** How long the call in flight has been waiting, ms (0: none). */
  waiting(now = performance.now()): number {
    return this.callStart === undefined ? 0 : now - this.callStart;
  }

  private async ping(): Promise<void> {
    if (performance.now() - this.lastPing < PING_EVERY_MS) return;
    this.lastPing = performance.now();
    await this.call('WorkerPing', () =>
      this.client.WorkerPing({
        Name: this.instance,
        Dest: `127.0.0.1:${20000 + this.o.index}`,
        Version: 'bench',
        Summary: { Threads: 1, Empty: 0, Paused: 0, Running: 1, Waiting: 0, Errors: 0 },
      }),
    );
  }

  private report(sid: SectorID, prev: string, next: string, event: string) {
    return this.call('ReportState', () =>
      this.client.ReportState(sid, {
        Worker: { Instance: this.instance, Location: this.location },
        StateChange: { Prev: prev, Next: next, Event: event },
        Failure: null,
      }),
    );
  }

  /** Polls `fn` at this thread's pace until it answers Landed; a failure on chain ends the sector. */
  private async untilLanded(method: string, fn: () => Promise<{ State: number; Desc: string | null }>) {
    for (;;) {
      const r = await this.call(method, fn);
      if (r.State === OnChainState.Landed) return;
      if (r.State !== OnChainState.Pending && r.State !== OnChainState.Packed) {
        this.o.stats.fail(method, new Error(`on-chain state ${r.State}: ${r.Desc ?? ''}`));
        throw new Error(`${method}: ${r.State}`);
      }
      if (this.o.gapMs === 0) await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async sector(): Promise<void> {
    await this.ping();
    const c = this.client;
    const a: AllocatedSector | null = await this.call('AllocateSector', () =>
      c.AllocateSector({
        AllowedMiners: [this.o.miner],
        AllowedProofTypes: [SEAL_PROOF],
        Worker: { Instance: this.instance, Location: this.location },
      }),
    );
    if (!a) {
      if (this.o.gapMs === 0) await new Promise((r) => setTimeout(r, 5));
      return;
    }
    const sid = a.ID;
    await this.report(sid, 'Empty', 'Allocated', 'Allocate');
    await this.report(sid, 'Allocated', 'DealsAcquired', 'AcquireDeals');
    await this.report(sid, 'DealsAcquired', 'PieceAdded', 'AddPiece');
    await this.report(sid, 'PieceAdded', 'TreeDBuilt', 'BuildTreeD');
    await this.report(sid, 'TreeDBuilt', 'TicketAssigned', 'AssignTicket');
    const ticket = await this.call('AssignTicket', () => c.AssignTicket(sid));
    await this.report(sid, 'TicketAssigned', 'PC1Done', 'PC1');
    await this.report(sid, 'PC1Done', 'PC2Done', 'PC2');
    const commR = commROf(sid);
    const commD = emptyCommD(SECTOR_SIZE);
    const pre = await this.call('SubmitPreCommit', () =>
      c.SubmitPreCommit(a, { CommR: bytes32ToJson(commR), CommD: bytes32ToJson(commD), Ticket: ticket }, false),
    );
    refused('SubmitPreCommit', pre, this.o.stats);
    await this.report(sid, 'PC2Done', 'PCSubmitted', 'SubmitPC');
    await this.untilLanded('PollPreCommitState', () => c.PollPreCommitState(sid));
    await this.report(sid, 'PCSubmitted', 'PCLanded', 'CheckPC');

    const reserved = await this.call('StoreReserveSpace', () =>
      c.StoreReserveSpace(sid, 2 * SECTOR_SIZE, [this.o.store.name]),
    );
    if (reserved?.Name !== this.o.store.name) {
      this.o.stats.fail('StoreReserveSpace', new Error(`reserved in ${reserved?.Name ?? 'no store'}`));
      throw new Error('no space');
    }
    await writeSectorFiles(this.o.store.path, sid);
    await this.report(sid, 'PCLanded', 'Persisted', 'Persist');
    const persisted = await this.call('SubmitPersistedEx', () => c.SubmitPersistedEx(sid, this.o.store.name, false));
    if (!persisted) {
      this.o.stats.fail('SubmitPersistedEx', new Error('the manager refused the persisted files'));
      throw new Error('not persisted');
    }
    await this.report(sid, 'Persisted', 'PersistanceSubmitted', 'SubmitPersistance');
    let seed = null;
    while (!seed) {
      const w = await this.call('WaitSeed', () => c.WaitSeed(sid, SEAL_PROOF));
      seed = w.Seed;
      if (!seed && !w.ShouldWait) {
        this.o.stats.fail('WaitSeed', new Error('no seed and no reason to wait'));
        throw new Error('no seed');
      }
      if (!seed && this.o.gapMs === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await this.report(sid, 'PersistanceSubmitted', 'SeedAssigned', 'AssignSeed');
    await this.report(sid, 'SeedAssigned', 'C1Done', 'C1');
    await this.report(sid, 'C1Done', 'C2Done', 'C2');
    const proof = digestSealProof({
      sealProof: SEAL_PROOF,
      minerId: sid.Miner,
      sectorNumber: sid.Number,
      ticket: fromBase64(ticket.Ticket),
      seed: fromBase64(seed.Seed),
      commR,
      commD,
    });
    const sub = await this.call('SubmitProof', () => c.SubmitProof(sid, { Proof: toBase64(proof) }, false));
    refused('SubmitProof', sub, this.o.stats);
    await this.report(sid, 'C2Done', 'ProofSubmitted', 'SubmitProof');
    await this.untilLanded('PollProofState', () => c.PollProofState(sid));
    await this.report(sid, 'ProofSubmitted', 'Finished', 'Finish');
    await this.call('ReportFinalized', () => c.ReportFinalized(sid));
    if (this.o.stats.recording) this.o.stats.sectorsFinished++;
  }
}

/** A submit answered with anything but Accepted counts as an error, and ends the sector. */
function refused(method: string, r: { Res: number; Desc: string | null }, stats: LatencyStats): void {
  if (r.Res === SubmitResult.Accepted) return;
  stats.fail(method, new Error(`result ${r.Res}: ${r.Desc ?? ''}`));
  throw new Error(`${method} refused`);
}

/** A CommR of its own per sector: 32 bytes with the top bits clear (a field element). */
export function commROf(sid: SectorID): Uint8Array {
  const b = blake2b256(encodeCbor(['bench-comm-r', sid.Miner, sid.Number]));
  b[31]! &= 0x3f;
  return b;
}

/** The files a persisted 2KiB sector has, as a worker's transfer leaves them in the store. */
async function writeSectorFiles(root: string, sid: SectorID): Promise<void> {
  const name = sectorName(sid);
  const cache = join(root, 'cache', name);
  await mkdir(join(root, 'sealed'), { recursive: true });
  await mkdir(cache, { recursive: true });
  await writeFile(join(root, 'sealed', name), Buffer.alloc(SECTOR_SIZE, 1));
  for (const f of ['p_aux', 't_aux', 'sc-02-data-tree-r-last.dat']) await writeFile(join(cache, f), 'x');
}
