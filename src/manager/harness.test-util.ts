/** Shared set-up for the manager's tests: a manager over the in-process chain, and a scripted worker. */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytes32ToJson, type SectorID, sectorName } from '../api/sealer.js';
import { checkVanillaWindowPoSt } from '../devnet/vanilla.js';
import { commRToCid, fromBase64 } from '../fil/index.js';
import { emptyCommD, sealProof } from '../proofs/index.js';
import { type SealedFixture, sealFixture } from '../proofs/porep/fixture.js';
import { type CommitLease, CommitmentManager } from './commit/index.js';
import { initHome, type ManagerConfig, parseManagerConfig } from './config.js';
import { type DaemonOptions, startDaemon } from './daemon.js';
import { ManagerStore } from './db.js';
import { MinerInfoCache } from './miners.js';
import type { PoStSector, WindowPoStInput } from './prover.js';
import { SealerService } from './sealer.js';
import { openTestDb } from './sql/pg.test-util.js';
import { cacheDir, PersistStores, sealedPath, storesFromConfig } from './stores.js';
import { FakeChain, fakeSealProof, fakeVerifier, TEST_POLICY } from './testkit.js';

export interface Harness {
  dir: string;
  storeDir: string;
  chain: FakeChain;
  cfg: ManagerConfig;
  db: ManagerStore;
  commit: CommitmentManager;
  sealer: SealerService;
  stores: PersistStores;
  /** builds a fresh manager over the same database and chain, as after a restart */
  restart(): Harness;
}

export function makeHarness(
  opts: { cfgText?: string; dir?: string; chain?: FakeChain; commitLease?: CommitLease } = {},
): Harness {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'vsm-test-'));
  const storeDir = join(dir, 'store');
  mkdirSync(storeDir, { recursive: true });
  const chain = opts.chain ?? new FakeChain();
  if (!chain.miners.has(1000)) chain.addMiner(1000);
  const cfg = parseManagerConfig(
    'test.cfg',
    opts.cfgText ??
      `[[SectorManager.Miners]]
ID = 1000
InitNumber = 0
MaxNumber = 100
[Commitment.DefaultPolicy]
MsgConfidence = 2
[[PersistedStore.Stores]]
Name = "store-1"
Path = "${storeDir}"
`,
  );
  const db = new ManagerStore(openTestDb(join(dir, 'manager.db')));
  const miners = new MinerInfoCache(chain.api());
  const commit = new CommitmentManager({
    store: db,
    chain: chain.api(),
    messager: chain.messager(),
    policy: TEST_POLICY,
    config: () => cfg,
    miners,
    ...(opts.commitLease ? { lease: opts.commitLease } : {}),
  });
  const stores = new PersistStores(storesFromConfig(cfg), db);
  const sealer = new SealerService({
    store: db,
    chain: chain.api(),
    policy: TEST_POLICY,
    config: () => cfg,
    miners,
    commit,
    stores,
    verifier: fakeVerifier,
  });
  const h: Harness = {
    dir,
    storeDir,
    chain,
    cfg,
    db,
    commit,
    sealer,
    stores,
    restart() {
      commit.stop();
      db.close();
      return makeHarness({ ...opts, dir, chain });
    },
  };
  return h;
}

/** CommR of a test sector: any 32 bytes with the top bits clear (a field element). */
export function testCommR(sid: SectorID): Uint8Array {
  const b = new Uint8Array(32);
  b[0] = sid.Number & 0xff;
  b[1] = sid.Miner & 0xff;
  b[31] = 0x1f;
  return b;
}

export function preCommitInfoFor(sid: SectorID, ticket: { Ticket: string; Epoch: number }) {
  return { CommR: bytes32ToJson(testCommR(sid)), CommD: bytes32ToJson(emptyCommD(2048)), Ticket: ticket };
}

/** Writes the files a persisted 2KiB sector has. */
export function writeSectorFiles(root: string, sid: SectorID): void {
  const name = sectorName(sid);
  mkdirSync(join(root, 'sealed'), { recursive: true });
  mkdirSync(join(root, 'cache', name), { recursive: true });
  writeFileSync(join(root, 'sealed', name), Buffer.alloc(2048, 1));
  for (const f of ['p_aux', 't_aux', 'sc-02-data-tree-r-last.dat']) writeFileSync(join(root, 'cache', name, f), 'x');
}

export function proofFor(sid: SectorID, ticket: string, seed: string): string {
  return Buffer.from(
    fakeSealProof({
      sealProof: 5,
      minerId: sid.Miner,
      sectorNumber: sid.Number,
      ticket: fromBase64(ticket),
      seed: fromBase64(seed),
      commR: testCommR(sid),
      commD: emptyCommD(2048),
    }),
  ).toString('base64');
}

/**
 * One real 2KiB sector, sealed by the proofs module (TreeD, PC1, PC2). Window PoSt does not look at the
 * replica id, so its files serve as any sector number of any miner (`placeSealedSector`), all with its CommR.
 */
export function sealTestSector(dir: string): Promise<SealedFixture> {
  return sealFixture({ proof: sealProof(5), dir: join(dir, 'fixture'), parentDir: join(dir, 'parents') });
}

/** Lays a sealed sector's files out in a persist store as a worker persists them (sealed file, PoSt cache files). */
export function placeSealedSector(root: string, sid: SectorID, f: SealedFixture): void {
  const name = sectorName(sid);
  mkdirSync(join(root, 'sealed'), { recursive: true });
  mkdirSync(join(root, 'cache', name), { recursive: true });
  copyFileSync(f.sealedPath, join(root, 'sealed', name));
  for (const file of readdirSync(f.cacheDir))
    if (file === 'p_aux' || file === 't_aux' || file.includes('tree-r-last'))
      copyFileSync(join(f.cacheDir, file), join(root, 'cache', name, file));
}

/** What the devnet says of Window PoSt proof bytes for a poster input (undefined: verified). */
export function devnetPoStVerdict(i: WindowPoStInput, proofBytes: Uint8Array): string | undefined {
  return checkVanillaWindowPoSt({
    minerId: i.minerId,
    randomness: i.randomness,
    proofs: [{ postProof: i.postProof, proofBytes }],
    challengedSectors: i.sectors.map((s) => ({
      sealProof: s.sealProof,
      sectorNumber: s.sectorNumber,
      sealedCid: commRToCid(s.commR).bytes,
    })),
  });
}

/** The poster's view of a sector laid out by placeSealedSector in `store` (2KiB, the fixture's CommR). */
export function placedPoStSector(store: string, f: SealedFixture, miner: number, n: number): PoStSector {
  const sid: SectorID = { Miner: miner, Number: n };
  return {
    sectorNumber: n,
    sealProof: 5,
    commR: f.commR,
    sealedPath: sealedPath(store, sid),
    cacheDir: cacheDir(store, sid),
  };
}

/**
 * A manager home (`daemon init`, miner 1000 configured) over a FakeChain, and a way to start its daemon as
 * `daemon run` does (again after a restart); `extra` adds daemon options (and `start(more)` for one start). The API runs without tokens
 * (`--insecure-no-auth` on 127.0.0.1) unless `extra` says `{ insecureNoAuth: false }`: tests about tokens do.
 */
export function managerHome(prefix: string, extra: Partial<DaemonOptions> = {}) {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const { file } = initHome(home);
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('[SectorManager]\n', '[SectorManager]\n[[SectorManager.Miners]]\nID = 1000\n'),
  );
  const chain = new FakeChain();
  chain.addMiner(1000);
  const start = (more: Partial<DaemonOptions> = {}) =>
    startDaemon({
      home,
      listen: '127.0.0.1:0',
      poster: false,
      chain: chain.api(),
      messager: chain.messager(),
      verifier: fakeVerifier,
      insecureNoAuth: true,
      ...extra,
      ...more,
    });
  return { home, chain, start };
}
