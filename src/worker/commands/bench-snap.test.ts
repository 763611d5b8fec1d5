import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cidToCommD, cidToCommR } from '../../fil/index.js';
import { padFr32, verifyUpdateVanilla } from '../../proofs/index.js';

const root = new URL('../../../', import.meta.url).pathname;
const TICKET = 'a1'.repeat(32);

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/venus-worker.ts'), 'bench', ...args], {
    encoding: 'utf8',
    cwd: root,
  });
}

/** TreeD root by the definition: binary SHA-256 (trunc254) over the padded sector. */
function naiveCommD(padded: Uint8Array): Uint8Array {
  let row: Uint8Array[] = [];
  for (let i = 0; i < padded.length; i += 32) row.push(padded.subarray(i, i + 32));
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += 2) {
      const h = new Uint8Array(
        createHash('sha256')
          .update(row[i]!)
          .update(row[i + 1]!)
          .digest(),
      );
      h[31]! &= 0x3f;
      next.push(h);
    }
    row = next;
  }
  return row[0]!;
}

describe('venus-worker bench snap', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-snap-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('seals CC, snaps the file in, proves and verifies: one JSON object, Lotus CIDs, the kept replica hashes as reported', async () => {
    const payload = new Uint8Array(1500).map((_, i) => (i * 7 + 3) & 0xff);
    await writeFile(join(dir, 'data.bin'), payload);
    const work = join(dir, 'work');
    const args = ['--sector-size', '2KiB', '--proof-type', '5', '--miner-id', '1234', '--sector-number', '7'];
    const r = cli([
      'snap',
      ...args,
      '--ticket',
      TICKET,
      '--data',
      join(dir, 'data.bin'),
      '--dir',
      work,
      '--keep',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    const out = JSON.parse(r.stdout);
    assert.match(out.commROld, /^bagboea4b5abc/);
    assert.match(out.commRNew, /^bagboea4b5abc/);
    assert.match(out.commDNew, /^baga6ea4seaq/);
    assert.notEqual(out.commROld, out.commRNew);
    assert.equal(out.verified, true);
    assert.equal(out.decoded, true);
    assert.equal(out.sealProof, 'StackedDrg2KiBV1_1');
    assert.equal(out.updateProof, 'StackedDrg2KiBV1');
    for (const p of ['sealCC', 'addPiece', 'encode', 'prove', 'snapProve', 'verify', 'decode'])
      assert.ok(out.phases[p].seconds >= 0, p);
    // comm_d_new is the TreeD root of the payload zero-filled to 2032 bytes and Fr32-padded
    const unpadded = new Uint8Array(2032);
    unpadded.set(payload);
    assert.deepEqual(cidToCommD(out.commDNew), naiveCommD(padFr32(unpadded)));
    const replica = await readFile(join(work, 'update'));
    assert.equal(createHash('sha256').update(replica).digest('hex'), out.replicaSha256);
    // the CC sector is the one `bench seal` seals with the same inputs
    const seal = cli(['seal', ...args, '--ticket', TICKET, '--json']);
    assert.equal(seal.status, 0, seal.stderr);
    assert.equal(JSON.parse(seal.stdout).commR, out.commROld);
    // the same sector with other data gives another update, the first proof does not fit it
    assert.equal(
      verifyUpdateVanilla({
        sealProof: 5,
        commROld: cidToCommR(out.commROld),
        commRNew: cidToCommR(out.commRNew),
        commDNew: cidToCommD(out.commDNew),
        proofBytes: new Uint8Array(12202),
      }),
      false,
    );
  });

  it('refuses a payload larger than the sector and a proof type of another size', async () => {
    await writeFile(join(dir, 'big.bin'), new Uint8Array(2033));
    const big = cli(['snap', '--sector-size', '2KiB', '--data', join(dir, 'big.bin'), '--json']);
    assert.notEqual(big.status, 0);
    assert.match(big.stderr, /at most 2032 unpadded bytes/);
    assert.equal(big.stdout, '');
    const other = cli(['snap', '--sector-size', '2KiB', '--proof-type', '6', '--json']);
    assert.notEqual(other.status, 0);
    assert.match(other.stderr, /8MiB/);
  });
});
