/**
 * For the sealing-thread tests only (not built into dist/): their temporary directory, the stages with C1/C2 test
 * doubles, a sealing config with quick waits, thread dependencies on the fake manager (testkit.ts) and its persist
 * store, a fake manager with seal stores ready, and the crash-at-every-state loop the plans' resume tests share.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { SealerAPI } from '../../api/sealer.js';
import { createClient } from '../../rpc/index.js';
import { SEALING_DEFAULTS, type SealingThreadConfig } from '../config.js';
import { BUILTIN, type Sealer } from '../processor/index.js';
import { fileInit, sealInit } from '../store.js';
import { StageLimits } from './limits.js';
import { FakeManager } from './testkit.js';
import { type SealerClient, SealingThread, type ThreadDeps } from './thread.js';

type SealingConfig = SealingThreadConfig['sealing'];

/** A directory for the test file, removed after it; the proofs' parent cache goes inside. */
export async function testBase(prefix: string): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), prefix));
  process.env.FIL_PROOFS_PARENT_CACHE = join(base, 'parents');
  after(() => rm(base, { recursive: true, force: true }));
  return base;
}

/** The real stages but C1 and C2, test doubles: these tests are about the state machines, not those proofs. */
export const TEST_STAGES = {
  ...BUILTIN,
  c1: async (t: { comm_r: number[]; seed: number[] }) => ({ test_double: 'c1', comm_r: t.comm_r, seed: t.seed }),
  c2: async (t: { c1out: unknown }) => ({ proof: Buffer.from(JSON.stringify(t.c1out)).toString('base64') }),
} as typeof BUILTIN;

export const testSealer: Sealer = {
  run: (stage, task) => (TEST_STAGES[stage] as (t: unknown) => Promise<never>)(task),
  where: () => 'builtin',
  stop: async () => {},
};

/** Polls `fn` every 10 ms until it holds; after `ms`, fails naming `what`. */
export async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The default [sealing] with waits of milliseconds, three retries and one retry of a task request. */
export function quickSealing(over: Partial<SealingConfig> = {}): SealingConfig {
  return {
    ...SEALING_DEFAULTS,
    maxRetries: 3,
    recoverIntervalMs: 20,
    sealIntervalMs: 20,
    rpcPollingIntervalMs: 10,
    requestTaskMaxRetries: 1,
    ...over,
  };
}

/** A thread's dependencies on `manager`, whose persist store "remote" is `remote` here; test doubles for C1/C2. */
export function testDeps(manager: SealerClient, remote: string, over: Partial<ThreadDeps> = {}): ThreadDeps {
  return {
    manager,
    sealer: testSealer,
    limits: new StageLimits(),
    persistStores: [{ name: 'remote', location: remote, readonly: false }],
    instance: 'test-worker',
    pieceStoreUrl: null,
    pieceToken: null,
    localPiecesDirs: [],
    staticTreeD: {},
    resubmitWaitMs: 10,
    ...over,
  };
}

/**
 * The seal stores `stores` formatted and a fake manager, not listening yet, with `sectors` CC sectors to allocate
 * and the persist store "remote" (<dir>/remote).
 */
export async function fakeManager(dir: string, stores: string[], sectors = 1) {
  const remote = join(dir, 'remote');
  await sealInit(stores);
  await fileInit([remote]);
  const mgr = new FakeManager({ sectors });
  mgr.stores.set('remote', remote);
  return { mgr, remote };
}

/**
 * A fake manager (fakeManager, listening) and the threads a test starts on its seal stores: all stopped by
 * cleanup, then the manager.
 */
export async function threadHarness(
  dir: string,
  o: { stores: string[]; sectors?: number; sealing?: Partial<SealingConfig>; deps?: Partial<ThreadDeps> },
) {
  const { mgr, remote } = await fakeManager(dir, o.stores, o.sectors);
  await mgr.listen();
  const manager = createClient(SealerAPI, { url: mgr.url, timeoutMs: 5000 });
  const sealing = quickSealing(o.sealing);
  const deps = testDeps(manager, remote, o.deps);
  const threads: SealingThread[] = [];
  /** A thread started with `cfg`; its index is the count started before it unless `index` is given. */
  const newThread = async (cfg: SealingThreadConfig, index = threads.length, d: ThreadDeps = deps) => {
    const t = new SealingThread(index, cfg, d);
    await t.start();
    threads.push(t);
    return t;
  };
  const cleanup = async () => {
    for (const t of threads) await t.stop();
    await mgr.down();
  };
  return { remote, mgr, sealing, deps, newThread, cleanup };
}

/**
 * A harness (threadHarness) whose first thread sealed and persisted CC sector 1 from <dir>/seal, then stopped: for
 * the plans that work on a sealed sector (rebuild, snapup) in the seal stores `stores`. Sealing may take `ms`.
 */
export async function sealedSector(dir: string, o: { stores: string[]; deps?: Partial<ThreadDeps>; ms?: number }) {
  const sealStore = join(dir, 'seal');
  const h = await threadHarness(dir, { stores: [sealStore, ...o.stores], deps: o.deps });
  const sealer = await h.newThread({ location: sealStore, plan: 'sealer', sealing: h.sealing });
  await until('sealed and finalized', () => h.mgr.sectors.get(1)?.finalized === true, o.ms);
  await sealer.stop();
  return h;
}

/**
 * The resume test of a plan: for each state S in `states`, keep the document (`docPath`) as saved when S was
 * entered (the thread reports right after saving, so the fake manager reads it then), let a thread run S's step and
 * its side effects, stop it, and put the document back — as if the worker died just before saving S's result. Each
 * snapshot is of `plan` when given; a step may take `ms`. Then a last thread runs the sector on; it is returned.
 */
export async function crashAtEveryState(o: {
  mgr: FakeManager;
  docPath: string;
  states: readonly string[];
  newThread: () => Promise<SealingThread>;
  plan?: string;
  ms?: number;
}): Promise<SealingThread> {
  for (const crashAt of o.states) {
    let snapshot: string | null = null;
    let stopped = false;
    let t: SealingThread | null = null;
    o.mgr.onReport = (_sid, req) => {
      if (req.StateChange.Next === crashAt && snapshot === null) snapshot = readFileSync(o.docPath, 'utf8');
      else if (snapshot !== null && !stopped) {
        // S's step is done and its result saved: stop before the next step runs
        stopped = true;
        void t?.stop();
      }
    };
    t = await o.newThread();
    await until(`the step of ${crashAt} done`, () => stopped || (crashAt === 'Finished' && snapshot !== null), o.ms);
    await t.stop();
    assert.ok(snapshot, `the thread went through ${crashAt}`);
    if (o.plan) assert.equal(JSON.parse(snapshot).plan, o.plan);
    await writeFile(o.docPath, snapshot);
  }
  o.mgr.onReport = null;
  return o.newThread();
}
