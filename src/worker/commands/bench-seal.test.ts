import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SEAL_2KIB_POLKA_DATA } from '../../../test/vectors/index.js';
import { UserError } from '../../common/cli.js';
import { cidToCommD } from '../../fil/index.js';
import { sealProofFor } from '../../proofs/index.js';
import { generateReplicaId, proverIdFromActorId } from '../../proofs/sdr/index.js';
import { benchSeal, benchSealOptionsFromCli } from './bench-seal.js';

const POLKA = SEAL_2KIB_POLKA_DATA;
// rust-fil-proofs' CommD for that data (test/vectors/seal-2kib-polka/README.md)
const POLKA_COMMD = 'baga6ea4seaqbfhdvmk5qygevit25ztjwl7voyikb5k2fqcl2lsuefhaqtukuiii';
// the 2KiB all-zero piece CID Lotus prints (= CommD of a CC 2KiB sector)
const ZERO_2KIB = 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy';
const PHASES = ['addPieces', 'treeD', 'parentCache', 'pc1', 'pc2', 'c1', 'c2', 'verify'];
const root = new URL('../../../', import.meta.url).pathname;

function cli(args: string[]) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/venus-worker.ts'), 'bench', 'seal', ...args],
    {
      encoding: 'utf8',
      cwd: root,
    },
  );
}

describe('venus-worker bench seal', () => {
  it('seals the polka 2KiB data: rust CommD, verified proof, JSON alone on stdout', () => {
    const r = cli(['--sector-size', '2KiB', '--data', POLKA, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout); // throws if anything but the JSON is there
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.equal(out.commD, POLKA_COMMD);
    assert.match(out.commR, /^bagboea4b5abc/);
    assert.equal(out.verified, true);
    assert.equal(out.sealProof, 'StackedDrg2KiBV1_1');
    // prover id = ID address payload of t01000, porep id of the V1_1 proof, default ticket 32×01
    const want = generateReplicaId(
      proverIdFromActorId(1000n),
      1n,
      new Uint8Array(32).fill(1),
      cidToCommD(POLKA_COMMD),
      sealProofFor(2048).porepId,
    );
    assert.equal(out.replicaId, Buffer.from(want).toString('hex'));
    assert.deepEqual(Object.keys(out.phases), PHASES);
    for (const p of PHASES) {
      assert.equal(typeof out.phases[p].seconds, 'number');
      assert.ok(out.phases[p].seconds >= 0);
      assert.ok(out.phases[p].peakRssMiB > 0);
    }
    // the logs are on stderr, one line per phase
    for (const p of PHASES) assert.match(r.stderr, new RegExp(`${p} done`));
  });

  it('a CC sector has the zero-piece CommD; the ticket is masked to a field element', async () => {
    const a = await benchSeal({ sectorSize: 2048, ticket: new Uint8Array(32).fill(0xff) });
    assert.equal(a.commD, ZERO_2KIB);
    assert.equal(a.verified, true);
    const masked = new Uint8Array(32).fill(0xff);
    masked[31] = 0x3f;
    const b = await benchSeal({ sectorSize: 2048, ticket: masked, minerId: 1234n, sectorNumber: 7n });
    assert.equal(b.commD, ZERO_2KIB);
    assert.equal(b.verified, true);
    const want = generateReplicaId(
      proverIdFromActorId(1234n),
      7n,
      masked,
      cidToCommD(ZERO_2KIB),
      sealProofFor(2048).porepId,
    );
    assert.equal(b.replicaId, Buffer.from(want).toString('hex'));
    // same ticket after masking, different prover and sector: different replica
    assert.notEqual(a.replicaId, b.replicaId);
    assert.notEqual(a.commR, b.commR);
  });

  it('refuses oversize or empty --data, bad flags and a proof of another size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-seal-test-'));
    try {
      await writeFile(join(dir, 'big'), new Uint8Array(2033));
      await assert.rejects(
        benchSeal({ sectorSize: 2048, data: join(dir, 'big') }),
        (e: Error) => e instanceof UserError && /2033 bytes.*at most 2032 unpadded bytes/.test(e.message),
      );
      await writeFile(join(dir, 'empty'), '');
      await assert.rejects(benchSeal({ sectorSize: 2048, data: join(dir, 'empty') }), UserError);
      await assert.rejects(benchSeal({ sectorSize: 2048, data: join(dir, 'missing') }), /cannot read/);
      const base = { sectorSize: '2KiB', minerId: '1000', sectorNumber: '1' };
      assert.throws(() => benchSealOptionsFromCli({ ...base, ticket: 'abcd' }), /--ticket must be 32 bytes/);
      assert.throws(() => benchSealOptionsFromCli({ ...base, minerId: '-1' }), /--miner-id/);
      assert.throws(() => benchSealOptionsFromCli({ ...base, sectorSize: '3KiB' }), UserError);
      assert.throws(() => benchSealOptionsFromCli({ ...base, threads: '0' }), /--threads/);
      await assert.rejects(
        benchSeal(benchSealOptionsFromCli({ ...base, proofType: 'StackedDrg8MiBV1_1' })),
        /is for 8MiB sectors/,
      );
      // the CLI: clear one-line error, non-zero exit, nothing on stdout
      const r = cli(['--sector-size', '2KiB', '--data', join(dir, 'big'), '--json']);
      assert.notEqual(r.status, 0);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /Error: --data .* is 2033 bytes; a 2KiB sector holds at most 2032 unpadded bytes/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--dir keeps the files with --keep and cleans up without it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-seal-test-'));
    try {
      await benchSeal({ sectorSize: 2048, dir: join(dir, 'w'), keep: true });
      const kept = await readdir(join(dir, 'w'));
      assert.deepEqual(kept.sort(), ['cache', 'sealed', 'staged']);
      assert.equal((await stat(join(dir, 'w', 'sealed'))).size, 2048);
      await assert.rejects(benchSeal({ sectorSize: 2048, dir: join(dir, 'w') }), /not empty/);
      await benchSeal({ sectorSize: 2048, dir: join(dir, 'x') });
      await assert.rejects(stat(join(dir, 'x')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
