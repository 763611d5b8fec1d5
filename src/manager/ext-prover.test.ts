// `daemon run --ext-prover`: ext-prover.cfg as the original writes and reads it (bad files refused with the key
// at fault), and the poster's prover through a real `venus-worker processor window_post` child: its proof is what
// the devnet verifies, stand-ins collapse, missing files never reach it, and the faults it finds come back.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../common/config.js';
import { ExternalPool, ExternalSub } from '../common/extproc/index.js';
import type { SealedFixture } from '../proofs/porep/fixture.js';
import {
  DEFAULT_EXT_PROVER_TEXT,
  EXT_PROVER_FILE,
  ExternalWindowPoStProver,
  initExtProverConfig,
  loadExtProverConfig,
  startWindowPoStPool,
} from './ext-prover.js';
import { devnetPoStVerdict, placedPoStSector, placeSealedSector, sealTestSector } from './harness.test-util.js';
import type { PoStSector, WindowPoStInput } from './prover.js';
import { sealedPath } from './stores.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** `venus-worker processor <stage>` from the sources (what the default Bin starts from dist/). */
const workerSpawn = (stage: string) => ({
  bin: process.execPath,
  args: ['--import', 'tsx', join(ROOT, 'src/cli/venus-worker.ts'), 'processor', stage],
});
const MINER = 1000;
const randomness = new Uint8Array(32).map((_, i) => (i * 53 + 7) & 0xff);
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vsm-ext-prover-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('ext-prover.cfg', () => {
  const home = (text?: string) => {
    const h = mkdtempSync(join(dir, 'home-'));
    if (text !== undefined) writeFileSync(join(h, EXT_PROVER_FILE), text);
    return h;
  };

  it('daemon init writes the commented default; --ext-prover refuses it until a [[WdPost]] is set', () => {
    const h = home();
    assert.throws(() => loadExtProverConfig(h), /ext-prover\.cfg: invalid configuration:\n.*missing/);
    initExtProverConfig(h);
    assert.equal(readFileSync(join(h, EXT_PROVER_FILE), 'utf8'), DEFAULT_EXT_PROVER_TEXT);
    assert.throws(() => loadExtProverConfig(h), /no \[\[WdPost\]\] processor/);
    // the default uncommented parses, with the original's defaults where keys are left out
    const cfg = loadExtProverConfig(home(DEFAULT_EXT_PROVER_TEXT.replace(/^#(?! )/gm, '')));
    assert.deepEqual(cfg.WdPost[0], {
      Bin: '/path/to/custom/bin',
      Args: ['args1', 'args2', 'args3'],
      Envs: { ENV_KEY: 'ENV_VAL' },
      Concurrent: 1,
      Weight: 1,
      ReadyTimeoutSecs: 5,
      TimeoutSecs: 1800,
    });
    assert.equal(cfg.WinPost.length, 1);
    assert.deepEqual(loadExtProverConfig(home('[[WdPost]]\n[[WdPost]]\nWeight = 3\n')).WdPost, [
      { Envs: {}, Concurrent: 1, Weight: 1, ReadyTimeoutSecs: 5, TimeoutSecs: 1800 },
      { Envs: {}, Concurrent: 1, Weight: 3, ReadyTimeoutSecs: 5, TimeoutSecs: 1800 },
    ]);
  });

  it('bad files are refused naming the key', () => {
    for (const [text, re] of [
      ['[[WdPost]]\nConcurrent = 0\n', /WdPost\[0\]\.Concurrent/],
      ['[[WdPost]]\nBinary = "/x"\n', /Binary/],
      ['[[WdPost]]\nArgs = ["a"]\n', /Args without Bin/],
      ['[[WdPost]]\nEnvs = { A = 1 }\n', /WdPost\[0\]\.Envs\.A/],
      ['[[WdPost]\n', /TOML syntax error at line 1/],
    ] as const) {
      assert.throws(
        () => loadExtProverConfig(home(text)),
        (e: Error) => e instanceof ConfigError && re.test(e.message),
        text,
      );
    }
  });

  it('a hung Window PoSt processor is killed at TimeoutSecs (not held forever) and started again', async () => {
    const hung = "process.stdout.write('window_post processor ready\\n'); process.stdin.resume();";
    const cfg = loadExtProverConfig(
      home(
        `[[WdPost]]\nBin = ${JSON.stringify(process.execPath)}\nArgs = ["-e", ${JSON.stringify(hung)}]\nTimeoutSecs = 1\n`,
      ),
    );
    assert.equal(cfg.WdPost[0]!.TimeoutSecs, 1);
    const pool = await startWindowPoStPool(cfg);
    try {
      const pid = pool.subs[0]!.pid;
      const t0 = Date.now();
      await assert.rejects(
        pool.run({ task: 'never answered' }),
        /window_post \(killed: the task ran past its 1s timeout\)/,
      );
      assert.ok(Date.now() - t0 < 2900, `failed after ${Date.now() - t0} ms`);
      const end = Date.now() + 15_000;
      while (pool.subs[0]!.pid === undefined || pool.subs[0]!.pid === pid) {
        assert.ok(Date.now() < end, 'the processor was not started again');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.throws(() => process.kill(pid!, 0), /ESRCH/); // the hung one is gone
    } finally {
      await pool.stop();
    }
  });

  it('a processor that never gets ready fails the start with its reason', async () => {
    const cfg = loadExtProverConfig(home('[[WdPost]]\nBin = "/no/such/prover"\n'));
    await assert.rejects(startWindowPoStPool(cfg), /could not start: ENOENT/);
  });
});

describe('ExternalWindowPoStProver through venus-worker processor window_post', () => {
  let fixture: SealedFixture;
  let store: string;
  let prover: ExternalWindowPoStProver;

  const sector = (n: number): PoStSector => placedPoStSector(store, fixture, MINER, n);
  const input = (sectors: PoStSector[]): WindowPoStInput => ({ minerId: MINER, postProof: 10, randomness, sectors });

  before(async () => {
    fixture = await sealTestSector(dir);
    store = join(dir, 'store');
    for (const n of [1, 2, 3, 4]) placeSealedSector(store, { Miner: MINER, Number: n }, fixture);
    const h = mkdtempSync(join(dir, 'home-'));
    writeFileSync(join(h, EXT_PROVER_FILE), '[[WdPost]]\nConcurrent = 2\nReadyTimeoutSecs = 60\n');
    prover = new ExternalWindowPoStProver(await startWindowPoStPool(loadExtProverConfig(h), workerSpawn));
  });
  after(() => prover?.stop());

  it('proves a batch the devnet verifies; a stand-in repeating a good sector collapses', async () => {
    const i = input([sector(1), sector(1), sector(3)]);
    const out = await prover.generateWindowPoSt(i);
    assert.deepEqual(out.faults, []);
    assert.equal(Buffer.from(out.proofBytes.subarray(0, 4)).toString(), 'FVPT');
    assert.equal(devnetPoStVerdict(i, out.proofBytes), undefined);
    assert.equal(await prover.verifyWindowPoSt(i, out.proofBytes), true);
    const other = input([sector(1), sector(2), sector(3)]);
    assert.equal(await prover.verifyWindowPoSt(other, out.proofBytes), false);
    // bytes that are not vanilla (a SNARK on a real chain) are the chain's to verify
    assert.equal(await prover.verifyWindowPoSt(i, new Uint8Array(192)), true);
  });

  it('a missing file is a fault before the processor is asked; a corrupted replica is one the processor finds', async () => {
    unlinkSync(sealedPath(store, { Miner: MINER, Number: 2 }));
    assert.deepEqual((await prover.generateWindowPoSt(input([sector(1), sector(2)]))).faults, [2]);
    const p4 = sealedPath(store, { Miner: MINER, Number: 4 });
    writeFileSync(
      p4,
      readFileSync(p4).map((b, k) => (k % 32 === 0 ? b ^ 1 : b)),
    );
    const out = await prover.generateWindowPoSt(input([sector(3), sector(4)]));
    assert.deepEqual(out.faults, [4]);
    assert.equal(out.proofBytes.length, 0);
  });
});

describe('ExternalPool weights', () => {
  class Answering extends ExternalSub {
    override async call(): Promise<unknown> {
      return this.index;
    }
  }
  const sub = (index: number, concurrent: number | null) =>
    new Answering({
      stage: 'window_post',
      index,
      spawn: { bin: 'unused', args: [] },
      config: { stableWaitMs: 1, envs: {}, inheritEnvs: false, autoRestart: false, concurrent, cgroup: null },
    });

  it('shares tasks among processors with room in proportion to Weight', async () => {
    const pool = new ExternalPool('window_post', [sub(0, 1), sub(1, 1)], undefined, undefined, [1, 3]);
    const counts = [0, 0];
    for (let k = 0; k < 2000; k++) counts[(await pool.run({})) as number]!++;
    const share = counts[1]! / 2000;
    assert.ok(share > 0.68 && share < 0.82, `weight 3 of 4 got ${share}`);
    assert.throws(() => new ExternalPool('window_post', [sub(0, 1)], undefined, undefined, [0]), /positive weight/);
  });
});
