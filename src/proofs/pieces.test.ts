import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Piece } from '@web3-storage/data-segment';
import { SEAL_2KIB_POLKA_DATA } from '../../test/vectors/index.js';
import { commPOfBuffer, zeroCommitment } from './commp.js';
import { padFr32 } from './fr32.js';
import {
  addPieces,
  computeCommD,
  emptyCommD,
  fillerPieces,
  type PieceInfo,
  pieceAlignment,
  pieceStartByte,
  sumPieceBytesWithAlignment,
  verifyPieces,
  zeroPiece,
} from './pieces.js';
import { hashNodes } from './sha256.js';
import { buildTreeD } from './tree-d.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fill = (v: number) => new Uint8Array(32).fill(v);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pieces-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('piece placement (rust filecoin-proofs/tests/pieces.rs)', () => {
  it('test_get_piece_alignment table', () => {
    const table: [number, number, number, number][] = [
      [0, 0, 0, 127],
      [0, 127, 0, 0],
      [127, 254, 127, 0],
      [127, 508, 381, 0],
      [100, 100, 27, 27],
      [200, 200, 54, 54],
      [300, 300, 208, 208],
    ];
    for (const [written, piece, left, right] of table) {
      assert.deepEqual(pieceAlignment(written, piece), { left, right }, `(${written}, ${piece})`);
    }
  });

  it('test_get_piece_start_byte', () => {
    const pieces = [31, 32, 33];
    assert.equal(pieceStartByte(pieces.slice(0, 0), pieces[0]), 0);
    assert.equal(pieceStartByte(pieces.slice(0, 1), pieces[1]), 127);
    assert.equal(pieceStartByte(pieces.slice(0, 2), pieces[2]), 254);
    assert.equal(sumPieceBytesWithAlignment([127, 508]), 1016);
  });
});

describe('CommD from pieces (rust compute_comm_d)', () => {
  it('test_verify_simple_pieces: every way of cutting a 4-leaf tree gives its root', () => {
    const [a, b, c, d] = [fill(1), fill(2), fill(3), fill(4)];
    const e = hashNodes(a, b);
    const f = hashNodes(c, d);
    const g = hashNodes(e, f);
    const p = (commitment: Uint8Array, size: number): PieceInfo => ({ commitment, size });
    for (const list of [
      [p(a, 128), p(b, 128), p(c, 128), p(d, 128)],
      [p(e, 256), p(c, 128), p(d, 128)],
      [p(e, 256), p(f, 256)],
      [p(a, 128), p(b, 128), p(f, 256)],
      [p(g, 512)],
    ]) {
      assert.ok(verifyPieces(g, list, 512));
    }
  });

  it('test_verify_padded_pieces: zero pieces go before larger pieces and at the end', () => {
    const pad = zeroCommitment(128);
    const [A, B, C, D] = [fill(1), fill(2), fill(3), fill(4)];
    const h = hashNodes;
    const P2 = h(pad, pad);
    const l1 = [h(A, pad), P2, B, C, P2, P2, P2, D, P2, P2, P2, P2];
    const l2 = [h(l1[0], l1[1]), l1[2], h(l1[3], l1[4]), h(l1[5], l1[6]), l1[7], h(l1[8], l1[9]), h(l1[10], l1[11])];
    const l3 = [h(l2[0], l2[1]), h(l2[2], l2[3]), l2[4], h(l2[5], l2[6])];
    const commD = h(h(l3[0], l3[1]), h(l3[2], l3[3]));
    const pieces: PieceInfo[] = [
      { commitment: A, size: 128 },
      { commitment: B, size: 512 },
      { commitment: C, size: 256 },
      { commitment: D, size: 1024 },
    ];
    assert.equal(hex(computeCommD(4096, pieces)), hex(commD));
  });

  it('no pieces: the empty sector; fillers do not change CommD', () => {
    assert.equal(hex(computeCommD(2048, [])), 'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833');
    assert.deepEqual(emptyCommD(32 * 2 ** 30), zeroCommitment(32 * 2 ** 30));
    const one = [{ commitment: fill(9), size: 256 }];
    const fillers = fillerPieces(256, 2048);
    assert.deepEqual(
      fillers.map((f) => f.size),
      [256, 512, 1024],
    );
    assert.deepEqual(computeCommD(2048, one), computeCommD(2048, [...one, ...fillers]));
    assert.deepEqual(fillerPieces(0, 2048), [zeroPiece(2048)]);
    assert.deepEqual(fillerPieces(2048, 2048), []);
  });

  it('rejects bad pieces', () => {
    assert.throws(() => computeCommD(2048, [{ commitment: fill(1), size: 96 }]), /power of two/);
    assert.throws(() => computeCommD(2048, [{ commitment: fill(1), size: 4096 }]), /larger than the sector/);
    assert.throws(
      () => computeCommD(2048, [zeroPiece(1024), zeroPiece(1024), zeroPiece(128)]),
      /larger than the sector/,
    );
    assert.throws(() => computeCommD(2048, [{ commitment: new Uint8Array(31), size: 128 }]), /32 bytes/);
    assert.throws(() => computeCommD(1000, []), /power of two/);
    assert.throws(() => fillerPieces(100, 2048), RangeError);
  });
});

describe('AddPieces', () => {
  it('the polka 2KiB vector: one full-sector piece gives the published CommD', async () => {
    const staged = join(dir, 'polka');
    const pieces = await addPieces({
      stagedPath: staged,
      sectorSize: 2048,
      pieces: [{ size: 2048, data: SEAL_2KIB_POLKA_DATA }],
    });
    // test/vectors/seal-2kib-polka/README.md: CommD produced by rust-fil-proofs 18.1.0
    const expected = '129c7562bb0c189544f5dccd365feaec2141eab458097a5ca8429c109d154421';
    assert.equal(hex(pieces[0].commitment), expected);
    assert.equal(hex(computeCommD(2048, pieces)), expected);
    assert.equal((await stat(staged)).size, 2048);
  });

  it('places random pieces aligned, and CommD from pieces equals TreeD over the staged file', async () => {
    for (const [sectorSize, sizes] of [
      [16384, [128, 512, 256, 2048, 128]],
      [32768, [256, 128, 4096, 1024, 8192]],
      [4096, [1024]],
    ] as const) {
      const payloads = sizes.map((s, i) =>
        randomBytes(i % 2 === 0 ? (s / 128) * 127 : Math.max(1, (s / 128) * 127 - 60)),
      );
      const staged = join(dir, `staged-${sectorSize}`);
      const src = join(dir, `payload-${sectorSize}`);
      await writeFile(src, payloads[0]);
      const infos = await addPieces({
        stagedPath: staged,
        sectorSize,
        pieces: sizes.map((size, i) => ({
          size,
          // mix the source kinds: a file, bytes, a stream, bytes with an explicit payload size
          data:
            i === 0
              ? src
              : i % 3 === 1
                ? payloads[i]
                : (async function* () {
                    yield payloads[i].subarray(0, 10);
                    yield payloads[i].subarray(10);
                  })(),
          payloadSize: i === 4 ? payloads[i].length : undefined,
        })),
        fill: true,
      });
      const file = await readFile(staged);
      assert.equal(file.length, sectorSize);
      let written = 0;
      for (let i = 0; i < sizes.length; i++) {
        const unpadded = (sizes[i] / 128) * 127;
        const a = pieceAlignment(written, unpadded);
        const at = ((written + a.left) / 127) * 128;
        assert.equal(at % sizes[i], 0, 'aligned to its size');
        const padded = padFr32(payloads[i]);
        assert.deepEqual(file.subarray(at, at + padded.length), Buffer.from(padded));
        assert.ok(file.subarray(at + padded.length, at + sizes[i]).every((x) => x === 0));
        // each CommP equals an independent CommP of the payload zero-extended to the piece
        assert.deepEqual(infos[i], { size: sizes[i], commitment: commPOfBuffer(payloads[i], sizes[i]).commP });
        if (payloads[i].length >= 65 && sizes[i] === Number(Piece.fromPayload(payloads[i]).size)) {
          assert.equal(hex(infos[i].commitment), hex(Piece.fromPayload(payloads[i]).root));
        }
        written += a.left + unpadded + a.right;
      }
      const fillerTotal = infos.slice(sizes.length).reduce((s, p) => s + p.size, 0);
      assert.equal((written / 127) * 128 + fillerTotal, sectorSize);
      const tree = await buildTreeD({ stagedPath: staged, cacheDir: dir, sectorSize, outPath: join(dir, 'td') });
      assert.equal(hex(computeCommD(sectorSize, infos)), hex(tree.commD), `sector ${sectorSize}`);
      assert.equal(hex(computeCommD(sectorSize, infos.slice(0, sizes.length))), hex(tree.commD));
    }
  });

  it('pledge pieces and errors', async () => {
    const staged = join(dir, 'pledge');
    const infos = await addPieces({ stagedPath: staged, sectorSize: 2048, pieces: [{ size: 1024, data: null }] });
    assert.deepEqual(infos, [zeroPiece(1024)]);
    assert.ok((await readFile(staged)).every((x) => x === 0));
    await assert.rejects(
      addPieces({
        stagedPath: staged,
        sectorSize: 2048,
        pieces: [
          { size: 2048, data: null },
          { size: 128, data: null },
        ],
      }),
      /do not fit/,
    );
    await assert.rejects(
      addPieces({ stagedPath: staged, sectorSize: 2048, pieces: [{ size: 128, data: randomBytes(128) }] }),
      /larger than the piece/,
    );
    await assert.rejects(
      addPieces({
        stagedPath: staged,
        sectorSize: 2048,
        pieces: [{ size: 256, data: randomBytes(10), payloadSize: 20 }],
      }),
      /ended after 10 bytes/,
    );
    await assert.rejects(
      addPieces({
        stagedPath: staged,
        sectorSize: 2048,
        pieces: [{ size: 256, data: randomBytes(10), payloadSize: 300 }],
      }),
      /does not fit/,
    );
    await assert.rejects(
      addPieces({ stagedPath: staged, sectorSize: 2048, pieces: [{ size: 100, data: null }] }),
      /power of two/,
    );
    await assert.rejects(addPieces({ stagedPath: staged, sectorSize: 3000, pieces: [] }), /unsupported sector size/);
  });
});
