import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Piece } from '@web3-storage/data-segment';
import { commPToCid } from '../fil/index.js';
import {
  CommPHasher,
  commPOfBuffer,
  commPOfFile,
  commPOfStream,
  paddedPieceSize,
  pieceSizeForPayload,
  unpaddedPieceSize,
  zeroCommitment,
} from './commp.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// docs/spec/proofs.md §CommP and zero pieces: 128 B and 2 KiB are asserted in rust filecoin-proofs/tests/pieces.rs; the
// others come from an independent model that reproduces those two; 32GiB is the well-known CC CommD seen on chain.
const ZERO_COMMS: [number, string][] = [
  [32, '0000000000000000000000000000000000000000000000000000000000000000'],
  [64, 'f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb0b'],
  [128, '3731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd488333'],
  [256, '642a607ef886b004bf2c1978463ae1d4693ac0f410eb2d1b7a47fe205e5e750f'],
  [512, '57a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb8526'],
  [1024, '1f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f'],
  [2048, 'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833'],
  [4096, '08c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff624'],
  [8 << 20, '65f29e5d98d246c38b388cfc06db1f6b021303c5a289000bdce832a9c3ec421c'],
  [512 << 20, '39560e7b13a93b07a243fd2720ffa7cb3e1d2e505ab3629e79f46313512cda06'],
  [1 << 30, 'ccc3c012f5b05e811a2bbfdd0f6833b84275b47bf229c0052a82484f3c1a5b3d'],
  [32 * 2 ** 30, '077e5fde35c50a9303a55009e3498a4ebedff39c42b710b730d8ec7ac7afa63e'],
  [64 * 2 ** 30, 'e64005a6bfe3777953b8ad6ef93f0fca1049b2041654f2a411f7702799cece02'],
];

describe('zero commitments', () => {
  it('match the published table for every size', () => {
    for (const [size, expected] of ZERO_COMMS) assert.equal(hex(zeroCommitment(size)), expected, `${size}`);
  });

  it('rust test_compute_comm_d_empty lists the 2KiB value as decimal bytes', () => {
    const z = zeroCommitment(2048);
    assert.deepEqual([...z.subarray(0, 4)], [252, 126, 146, 130]);
    assert.deepEqual([...z.subarray(30)], [248, 51]);
  });

  it('2KiB zero piece CID is the one Lotus prints', () => {
    assert.equal(
      commPToCid(zeroCommitment(2048)).toString(),
      'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy',
    );
    // and hashing 2032 zero bytes gives it too
    assert.deepEqual(commPOfBuffer(new Uint8Array(2032)).commP, zeroCommitment(2048));
  });

  it('rejects sizes that are not powers of two', () => {
    assert.throws(() => zeroCommitment(96), RangeError);
    assert.throws(() => zeroCommitment(16), RangeError);
  });
});

describe('CommP', () => {
  it('agrees with @web3-storage/data-segment (independent implementation) over sizes and boundaries', () => {
    for (const n of [65, 126, 127, 128, 253, 254, 255, 1016, 2032, 2033, 127 * 256, 100_000, 127 * 32768 + 1]) {
      const d = randomBytes(n);
      const ours = commPOfBuffer(d);
      const theirs = Piece.fromPayload(d);
      assert.equal(ours.paddedSize, Number(theirs.size), `size for ${n}`);
      assert.equal(hex(ours.commP), hex(theirs.root), `commP for ${n}`);
      assert.equal(ours.payloadSize, n);
    }
  });

  it('streams give the same result for any chunking, and a file too', async () => {
    const d = randomBytes(127 * 32768 * 2 + 12345); // crosses the 4 MiB chunk boundary twice
    const whole = commPOfBuffer(d);
    const h = new CommPHasher();
    for (let off = 0, i = 0; off < d.length; i++) {
      const n = [1, 4_000_000, 127, 777_777][i % 4];
      h.update(d.subarray(off, off + n));
      off += n;
    }
    assert.deepEqual(h.digest(), whole);
    async function* gen() {
      for (let off = 0; off < d.length; off += 65536) yield d.subarray(off, off + 65536);
    }
    assert.deepEqual(await commPOfStream(gen()), whole);
    const dir = await mkdtemp(join(tmpdir(), 'commp-'));
    try {
      await writeFile(join(dir, 'f'), d);
      assert.deepEqual(await commPOfFile(join(dir, 'f')), whole);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('zero-extends to a larger requested piece size', () => {
    const d = randomBytes(300);
    const big = commPOfBuffer(d, 4096);
    const zeros = new Uint8Array(4064);
    zeros.set(d);
    assert.deepEqual(big.commP, commPOfBuffer(zeros).commP);
    assert.throws(() => commPOfBuffer(randomBytes(2033), 2048), RangeError);
  });

  it('piece size math', () => {
    assert.equal(pieceSizeForPayload(1), 128);
    assert.equal(pieceSizeForPayload(127), 128);
    assert.equal(pieceSizeForPayload(128), 256);
    assert.equal(pieceSizeForPayload(2032), 2048);
    assert.equal(pieceSizeForPayload(2033), 4096);
    assert.equal(unpaddedPieceSize(2048), 2032);
    assert.equal(unpaddedPieceSize(32 * 2 ** 30), 34091302912);
    assert.equal(paddedPieceSize(34091302912), 32 * 2 ** 30);
    assert.throws(() => paddedPieceSize(2000), RangeError);
    assert.throws(() => unpaddedPieceSize(96), RangeError);
  });
});
