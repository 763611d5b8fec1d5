/**
 * CID tests.
 *
 * Vectors and their sources:
 * - test/vectors/seal-2kib-polka (rust-fil-proofs 18.1.0 output hard-coded in eigerco/polka-storage
 *   maat/tests/real_world.rs): CommD baga6ea4seaqbfhdvmk5qygevit25ztjwl7voyikb5k2fqcl2lsuefhaqtukuiii ↔ 129c7562…,
 *   CommR bagboea4b5abcaqolcsygu5o756srf7l4pzzagml5r3wa3o6ahoo5vixummsev6rf ↔ 41cb14b0….
 * - docs/spec/proofs.md §CommP and zero pieces (lotus, @web3-storage/data-segment agree): 2 KiB zero-piece CommP
 *   baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy, checked against the zero tree computed here with
 *   node:crypto sha256 (trunc254).
 * - docs/spec/chain.md §Commitment CIDs (go-fil-commcid prefixes): bytes 0..31 as CommR →
 *   bagboea4b5abcaaabaibqibiga4eascqlbqgq4dyqcejbgfavcylrqgi2dmob2hq7, as CommD →
 *   baga6ea4seaqaaaicamcakbqhbaequcymbuha6earcijrifiwc4mbsgq3dqor4hy; CID byte prefixes 01 82e203 81e802 20 / 01 81e203
 *   9220 20.
 * - docs/spec/chain.md §Test vectors (Zondax txs.json / lotus): message CBOR →
 *   bafy2bzaceduq6pnkpz7xhs6d24epnu47hjpn3oucoq3xnkc4g5b7hgcdw4now; blake2b-256("") = 0e5751c0….
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { blake2b256, fromHex, toHex } from './bytes.js';
import {
  CID,
  cborCid,
  cidFromJSON,
  cidToCommD,
  cidToCommP,
  cidToCommR,
  cidToJSON,
  commDToCid,
  commPToCid,
  commRToCid,
  toCid,
} from './cid.js';
import { EncodingError } from './errors.js';

const seq32 = Uint8Array.from({ length: 32 }, (_, i) => i);

describe('cid: chain objects', () => {
  it('blake2b-256 and message CID', () => {
    assert.equal(
      toHex(blake2b256(new Uint8Array(0))),
      '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8',
    );
    const cbor = fromHex(
      '8a005501fd1d0f4dfcd7e99afcb99a8326b7dc459d32c62855011eaf1c8a4bbfeeb0870b1745b1f57503470b71160144000186a01961a84200014200010040',
    );
    const c = cborCid(cbor);
    assert.equal(c.toString(), 'bafy2bzaceduq6pnkpz7xhs6d24epnu47hjpn3oucoq3xnkc4g5b7hgcdw4now');
    assert.equal(toHex(c.bytes), '0171a0e40220e90f3daa7e7f73cbc3d708f6d39f3a5eddba82743776a85c3743f39843b71aeb');
  });

  it('Lotus JSON form and parsing', () => {
    const s = 'bafy2bzaceduq6pnkpz7xhs6d24epnu47hjpn3oucoq3xnkc4g5b7hgcdw4now';
    const c = toCid(s);
    assert.deepEqual(cidToJSON(c), { '/': s });
    assert.equal(JSON.stringify(cidToJSON(c)), `{"/":"${s}"}`);
    assert.ok(cidFromJSON({ '/': s }).equals(c));
    assert.ok(toCid(c.bytes).equals(c));
    assert.ok(toCid(c) === c);
    assert.throws(() => cidFromJSON({ '/': 'bafyNOPE' }, 'Message'), /Message: not a valid CID/);
    assert.throws(() => cidFromJSON(null, 'Message'), /Message: expected a CID string or \{"\/": "…"\}, got null/);
    assert.throws(() => cidFromJSON({ x: 1 }), EncodingError);
  });
});

describe('cid: commitments (go-fil-commcid)', () => {
  it('rust-fil-proofs 2 KiB sector vectors', () => {
    const commD = fromHex('129c7562bb0c189544f5dccd365feaec2141eab458097a5ca8429c109d154421');
    const commR = fromHex('41cb14b06a75dfefa512fd7c7e7203317d8eec0dbbc03b9ddaa2f463244afa25');
    assert.equal(commDToCid(commD).toString(), 'baga6ea4seaqbfhdvmk5qygevit25ztjwl7voyikb5k2fqcl2lsuefhaqtukuiii');
    assert.equal(commRToCid(commR).toString(), 'bagboea4b5abcaqolcsygu5o756srf7l4pzzagml5r3wa3o6ahoo5vixummsev6rf');
    assert.deepEqual(cidToCommD('baga6ea4seaqbfhdvmk5qygevit25ztjwl7voyikb5k2fqcl2lsuefhaqtukuiii'), commD);
    assert.deepEqual(cidToCommR({ '/': 'bagboea4b5abcaqolcsygu5o756srf7l4pzzagml5r3wa3o6ahoo5vixummsev6rf' }), commR);
  });

  it('2 KiB zero piece CommP (lotus) equals the zero tree', () => {
    // 64 zero leaves of 32 bytes, sha256 pairs with the top two bits of the last byte cleared (trunc254)
    let level: Buffer[] = Array.from({ length: 64 }, () => Buffer.alloc(32));
    while (level.length > 1) {
      const next: Buffer[] = [];
      for (let i = 0; i < level.length; i += 2) {
        const h = createHash('sha256')
          .update(level[i]!)
          .update(level[i + 1]!)
          .digest();
        h[31]! &= 0x3f;
        next.push(h);
      }
      level = next;
    }
    const root = new Uint8Array(level[0]!);
    assert.equal(commPToCid(root).toString(), 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy');
    assert.deepEqual(cidToCommP('baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy'), root);
  });

  it('prefixes and strings of bytes 0..31', () => {
    const r = commRToCid(seq32);
    const d = commDToCid(seq32);
    assert.equal(r.toString(), 'bagboea4b5abcaaabaibqibiga4eascqlbqgq4dyqcejbgfavcylrqgi2dmob2hq7');
    assert.equal(d.toString(), 'baga6ea4seaqaaaicamcakbqhbaequcymbuha6earcijrifiwc4mbsgq3dqor4hy');
    assert.equal(toHex(r.bytes), `0182e20381e80220${toHex(seq32)}`);
    assert.equal(toHex(d.bytes), `0181e203922020${toHex(seq32)}`);
  });

  it('refuses the wrong codec, hash, length or version', () => {
    const d = commDToCid(seq32).toString();
    const r = commRToCid(seq32).toString();
    assert.throws(
      () => cidToCommR(d),
      /CommR: baga.* has codec fil-commitment-unsealed \(0xf101\), want fil-commitment-sealed \(0xf102\)/,
    );
    assert.throws(
      () => cidToCommD(r),
      /CommD: .* has codec fil-commitment-sealed \(0xf102\), want fil-commitment-unsealed/,
    );
    const msg = 'bafy2bzaceduq6pnkpz7xhs6d24epnu47hjpn3oucoq3xnkc4g5b7hgcdw4now';
    assert.throws(() => cidToCommD(msg), /has codec dag-cbor \(0x71\)/);
    // right codec, wrong hash: build CIDv1(0xf102, sha2-256-trunc254-padded)
    const wrongHash = CID.createV1(0xf102, commDToCid(seq32).multihash);
    assert.throws(
      () => cidToCommR(wrongHash),
      /has hash sha2-256-trunc254-padded \(0x1012\), want poseidon-bls12_381-a2-fc1 \(0xb401\)/,
    );
    const short = CID.decode(fromHex(`0181e203922010${toHex(seq32.subarray(0, 16))}`));
    assert.throws(() => cidToCommD(short), /holds 16 bytes, want 32/);
    const v0 = CID.parse('QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n');
    assert.throws(() => cidToCommD(v0), /CIDv0/);
    assert.throws(() => commDToCid(new Uint8Array(31)), /CommD must be 32 bytes, got 31/);
    assert.throws(() => commRToCid(new Uint8Array(33)), /CommR must be 32 bytes, got 33/);
    assert.throws(() => cidToCommD('not a cid'), /CommD: not a valid CID/);
  });
});
