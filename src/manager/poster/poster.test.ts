// The poster over the in-process chain with the daemon's real prover: sectors 1-3 are copies of one real
// sealed 2KiB sector (Window PoSt does not look at the replica id), so every proof it sends is a real vanilla
// Window PoSt that the poster verified before sending (and that the devnet's verifier accepts).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MessageState } from '../../api/messager.js';
import type { SectorID } from '../../api/sealer.js';
import { checkVanillaWindowPoSt } from '../../devnet/vanilla.js';
import { commRToCid } from '../../fil/index.js';
import type { SealedFixture } from '../../proofs/porep/fixture.js';
import { makeHarness, placeSealedSector, sealTestSector } from '../harness.test-util.js';
import { MinerInfoCache } from '../miners.js';
import { MinerMethod } from '../params.js';
import { LocalWindowPoStProver } from '../proofs.js';
import type { WindowPoStInput, WindowPoStOutput, WindowPoStProver } from '../prover.js';
import { sealedPath } from '../stores.js';
import { TEST_POLICY } from '../testkit.js';
import { nextDeadline, Poster, type PosterOptions } from './index.js';

let fixtureDir: string;
let fixture: SealedFixture;
before(async () => {
  fixtureDir = mkdtempSync(join(tmpdir(), 'vsm-poster-'));
  fixture = await sealTestSector(fixtureDir);
});
after(() => rmSync(fixtureDir, { recursive: true, force: true }));

/** The real prover, recording what the poster asked and got. */
function recordingProver(): WindowPoStProver & { calls: { input: WindowPoStInput; out: WindowPoStOutput }[] } {
  const real = new LocalWindowPoStProver();
  const calls: { input: WindowPoStInput; out: WindowPoStOutput }[] = [];
  return {
    calls,
    async generateWindowPoSt(input) {
      const out = await real.generateWindowPoSt(input);
      calls.push({ input, out });
      return out;
    },
    verifyWindowPoSt: (i, p) => real.verifyWindowPoSt(i, p),
    checkSector: (s, m, p) => real.checkSector(s, m, p),
  };
}

/** The devnet's verdict on a generated proof (undefined: verified in full). */
function devnetVerdict(c: { input: WindowPoStInput; out: WindowPoStOutput }): string | undefined {
  return checkVanillaWindowPoSt({
    minerId: c.input.minerId,
    randomness: c.input.randomness,
    proofs: [{ postProof: c.input.postProof, proofBytes: c.out.proofBytes }],
    challengedSectors: c.input.sectors.map((s) => ({
      sealProof: s.sealProof,
      sectorNumber: s.sectorNumber,
      sealedCid: commRToCid(s.commR).bytes,
    })),
  });
}

/** Flips a bit in every node of a sector's replica: its challenged paths no longer open under comm_r_last. */
function corrupt(path: string): void {
  writeFileSync(
    path,
    readFileSync(path).map((b, k) => (k % 32 === 0 ? b ^ 1 : b)),
  );
}

function setup() {
  const h = makeHarness({
    cfgText: `[[SectorManager.Miners]]
ID = 1000
[PoSt.Actors.1000]
Sender = "t0100"
`,
  });
  // the store is not from the config above: add one
  const stores = [{ name: 'store-1', path: h.storeDir, strict: false, readOnly: false, weight: 1 }];
  h.stores.reload(stores);
  h.chain.deadlines = { count: 4, window: 20, lookback: 5, periodStart: 0 };
  h.chain.height = 5;
  for (const n of [1, 2, 3]) {
    const sid = { Miner: 1000, Number: n };
    h.chain.activateSector(1000, n, 1, fixture.commR);
    h.db.indexSector('normal', sid, { SealedFile: 'store-1', CacheDir: 'store-1' });
    placeSealedSector(h.storeDir, sid, fixture);
  }
  const prover = recordingProver();
  /** A poster over this chain and database (a second one is the manager after a restart). */
  const make = (onPoSt?: PosterOptions['onPoSt']) =>
    new Poster({
      chain: h.chain.api(),
      messager: h.chain.messager(),
      store: h.db,
      stores: h.stores,
      prover,
      miners: new MinerInfoCache(h.chain.api()),
      policy: TEST_POLICY,
      config: () => h.cfg,
      challengeConfidence: 2,
      submitConfidence: 1,
      onPoSt,
    });
  const poster = make();
  const runWith = async (p: Poster, until: number) => {
    while (h.chain.height < until) {
      await h.chain.mine();
      await p.onHead(h.chain.height, h.chain.tipset().Cids);
      await p.idle();
    }
  };
  const run = (until: number) => runWith(poster, until);
  return { h, poster, prover, run, make, runWith };
}

test('nextDeadline rolls over into the next proving period', () => {
  const h = makeHarness();
  h.chain.deadlines = { count: 4, window: 20, lookback: 5, periodStart: 0 };
  const d3 = h.chain.deadlineInfo(65);
  assert.equal(d3.Index, 3);
  const n = nextDeadline(d3);
  assert.deepEqual([n.Index, n.Open, n.Close, n.Challenge, n.PeriodStart], [0, 80, 100, 75, 80]);
  h.commit.stop();
});

test('a missing sealed file: the sector is skipped (declared faulty), the rest proven; recovered later', async () => {
  const { h, poster, prover, run } = setup();
  const m = h.chain.miners.get(1000)!;
  // sector 2 lost its sealed file
  rmSync(join(h.storeDir, 'sealed', 's-t01000-2'));

  await run(39); // deadline 1: challenge 15, open 20, close 40
  assert.equal(m.posts.length, 1, 'one SubmitWindowedPoSt for deadline 1');
  assert.deepEqual(m.posts[0]!.partitions, [
    { index: 0, skipped: [2] },
    { index: 1, skipped: [] },
  ]);
  assert.ok(m.posts[0]!.height >= 21, 'submitted after the window opened');
  const last = prover.calls.at(-1)!;
  const proved = last.input.sectors.map((s) => s.sectorNumber);
  assert.deepEqual(proved, [1, 1, 3], 'sector 2 replaced by the first good sector of its partition');
  assert.equal(prover.calls.length, 1, 'the file check kept sector 2 away from the prover');
  assert.equal(devnetVerdict(last), undefined, 'a real Window PoSt of sectors 1 and 3');
  assert.deepEqual([...m.partitions.get(1)![0]!.faulty], [2], 'skipped → faulty on chain');
  const sent = [...h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.match(sent[0]!.From, /^[ft]0100$/, 'from [PoSt.Actors.1000] Sender');

  // the file comes back: recovery is declared from deadline 3 (two ahead of 1), then deadline 1 proves it
  placeSealedSector(h.storeDir, { Miner: 1000, Number: 2 }, fixture);
  await run(79);
  assert.deepEqual(m.recoveries, [{ deadline: 1, partition: 0, sectors: [2] }]);
  await run(119); // deadline 1 of the next period: open 100
  assert.equal(m.posts.length, 2);
  assert.deepEqual(m.posts[1]!.partitions, [
    { index: 0, skipped: [] },
    { index: 1, skipped: [] },
  ]);
  assert.equal(m.partitions.get(1)![0]!.faulty.size, 0, 'recovered');
  assert.equal(devnetVerdict(prover.calls.at(-1)!), undefined, 'a real Window PoSt of sectors 1, 2 and 3');
  poster.stop();
  h.commit.stop();
});

test('a corrupted replica passes the file check: the prover reports it, the poster skips it and proves the rest', async () => {
  const { h, poster, prover, run } = setup();
  const m = h.chain.miners.get(1000)!;
  const sid: SectorID = { Miner: 1000, Number: 3 };
  corrupt(sealedPath(h.storeDir, sid));

  await run(39);
  assert.equal(m.posts.length, 1);
  assert.deepEqual(m.posts[0]!.partitions, [
    { index: 0, skipped: [] },
    { index: 1, skipped: [3] },
  ]);
  assert.deepEqual([...m.partitions.get(1)![1]!.faulty], [3], 'skipped → faulty on chain');
  assert.deepEqual(
    prover.calls.map((c) => c.out.faults),
    [[3], []],
    'the first attempt found the fault, the second proved without it',
  );
  const last = prover.calls.at(-1)!;
  assert.deepEqual(
    last.input.sectors.map((s) => s.sectorNumber),
    [1, 2],
    'partition 1 had no good sector left: nothing challenged from it',
  );
  assert.equal(devnetVerdict(last), undefined);
  poster.stop();
  h.commit.stop();
});

test('a failed Window PoSt submission is sent again while the deadline is open; both outcomes are reported', async () => {
  const { h, poster, make, runWith } = setup();
  poster.stop();
  const reports: { deadline: number; ok: boolean; proven?: number; faulty?: number }[] = [];
  const p = make(({ deadline, ok, proven, faulty }) => reports.push({ deadline, ok, proven, faulty }));
  const m = h.chain.miners.get(1000)!;
  h.chain.failNext.set(MinerMethod.SubmitWindowedPoSt, 16);
  await runWith(p, 39);
  assert.deepEqual(reports, [
    { deadline: 1, ok: false, proven: 3, faulty: 0 },
    { deadline: 1, ok: true, proven: 3, faulty: 0 },
  ]);
  const sent = [...h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 2, 'sent twice');
  assert.equal(sent[0]!.Receipt?.ExitCode, 16);
  assert.equal(sent[1]!.State, MessageState.OnChainMsg);
  assert.equal(sent[1]!.Receipt?.ExitCode, 0);
  assert.equal(m.posts.length, 1, 'the second one landed');
  // the messager may not send either from the deadline's last epoch on: it would be included after the close
  const close = h.chain.deadlineInfo(sent[0]!.Height).Close;
  assert.deepEqual(
    sent.map((r) => r.Meta?.expireEpoch),
    [close - 1, close - 1],
  );
  p.stop();
  h.commit.stop();
});

test('a replaced Window PoSt (NonceConflictMsg with a receipt) counts as landed; a lost nonce is sent again', async () => {
  const { h, poster, run } = setup();
  const m = h.chain.miners.get(1000)!;
  h.chain.replaceNext.set(MinerMethod.SubmitWindowedPoSt, 'replace');
  await run(39);
  let sent = [...h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 1, 'followed, not sent again');
  assert.equal(sent[0]!.State, MessageState.NonceConflictMsg);
  assert.equal(m.posts.length, 1);
  h.chain.replaceNext.set(MinerMethod.SubmitWindowedPoSt, 'lose');
  await run(39 + 80);
  sent = [...h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 3, 'the lost one sent again');
  assert.equal(sent[1]!.Receipt, null);
  assert.equal(sent[2]!.Receipt?.ExitCode, 0);
  assert.equal(m.posts.length, 2);
  poster.stop();
  h.commit.stop();
});

test('a restart while the proven deadline is still open: the chain has the PoSt, it is not proven or sent again', async () => {
  const { h, poster, prover, run, make, runWith } = setup();
  const m = h.chain.miners.get(1000)!;
  await run(25); // deadline 1: open 20, close 40; submitted at 21, landed at 22
  assert.equal(m.posts.length, 1);
  poster.stop();
  const calls = prover.calls.length;
  const reports: { deadline: number; ok: boolean }[] = [];
  const again = make((r) => reports.push({ deadline: r.deadline, ok: r.ok }));
  await runWith(again, 39);
  const sent = [...h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 1, 'not sent again');
  assert.equal(prover.calls.length, calls, 'not proven again');
  assert.deepEqual(reports, [{ deadline: 1, ok: true }], 'reported as proven, never as failed');
  again.stop();
  h.commit.stop();
});

test('a restart while its PoSt is still in the pool: the second submission fails, the chain says proven: done', async () => {
  const { h, poster, run, make } = setup();
  const m = h.chain.miners.get(1000)!;
  await run(21); // submitted at 21, not mined yet
  assert.equal([...h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt).length, 1);
  poster.stop();
  const reports: { deadline: number; ok: boolean }[] = [];
  const again = make((r) => reports.push({ deadline: r.deadline, ok: r.ok }));
  await again.onHead(h.chain.height, h.chain.tipset().Cids); // proves and sends before the first one lands
  await again.idle();
  while (h.chain.height < 39) {
    await h.chain.mine();
    await again.onHead(h.chain.height, h.chain.tipset().Cids);
    await again.idle();
  }
  const sent = [...h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 2, 'the restarted manager sent once, and not again after it failed');
  assert.equal(sent[0]!.Receipt?.ExitCode, 0);
  assert.equal(sent[1]!.Receipt?.ExitCode, 16);
  assert.match(sent[1]!.ErrorMsg ?? '', /partition 0 already proven in deadline 1/);
  assert.equal(m.posts.length, 1);
  assert.deepEqual(reports, [{ deadline: 1, ok: true }], 'the failure is not reported: the chain has the proof');
  again.stop();
  h.commit.stop();
});

test('StrictCheck and the CLI check report why a sector is not provable', async () => {
  const { h, poster } = setup();
  writeFileSync(join(h.storeDir, 'sealed', 's-t01000-3'), 'short');
  corrupt(sealedPath(h.storeDir, { Miner: 1000, Number: 2 }));
  mkdirSync(join(h.storeDir, 'x'), { recursive: true });
  const loose = await poster.checkDeadline(1000, 1, false);
  assert.deepEqual(
    loose.map((x) => x.error),
    [null, null, null],
  );
  const strict = await poster.checkDeadline(1000, 1, true);
  assert.match(strict[2]!.error!, /size 5, expected 2048/);
  assert.match(strict[1]!.error!, /does not verify \(replica corrupted\?\)/, 'the vanilla proof of the check');
  assert.equal(strict[0]!.error, null);
  const none = await poster.checkSectors(1000, [9], false);
  assert.equal(none.bad.get(9), 'not found on chain');
  poster.stop();
  h.commit.stop();
});
