/**
 * ProveReplicaUpdates3 codec. The byte vector is laid out by hand from builtin-actors' tuple order
 * (actors/miner/src/types.rs ProveReplicaUpdates3Params, SectorUpdateManifest, PieceActivationManifest,
 * VerifiedAllocationKey, DataActivationNotification; the return is serde-transparent over BatchReturn), with the
 * CBOR forms docs/spec/chain.md fixes (CIDs as tag 42 over 00 ‖ CID bytes, f05 as the bytes 00 05).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idAddress } from '../address.js';
import { concatBytes, fromHex, toHex } from '../bytes.js';
import { decodeCbor } from '../cbor.js';
import { commPToCid, commRToCid } from '../cid.js';
import { EncodingError } from '../errors.js';
import {
  decodeProveReplicaUpdates3Params,
  decodeProveReplicaUpdates3Return,
  encodeProveReplicaUpdates3Params,
  encodeProveReplicaUpdates3Return,
  PROVE_REPLICA_UPDATES3_METHOD,
  type ProveReplicaUpdates3Params,
} from './miner-update.js';

const commR = commRToCid(new Uint8Array(32).fill(0x11));
const commP = commPToCid(new Uint8Array(32).fill(0x22));

const params: ProveReplicaUpdates3Params = {
  sectorUpdates: [
    {
      sector: 1,
      deadline: 2,
      partition: 0,
      newSealedCid: commR.bytes,
      pieces: [
        {
          cid: commP.bytes,
          size: 2048,
          verifiedAllocationKey: { client: 1000, id: 5 },
          notify: [{ address: idAddress(5), payload: Uint8Array.of(0x00) }],
        },
      ],
    },
  ],
  sectorProofs: [Uint8Array.of(1, 2)],
  aggregateProof: new Uint8Array(0),
  updateProofsType: 0,
  aggregateProofType: null,
  requireActivationSuccess: true,
  requireNotificationSuccess: false,
};

// by hand: 87 = 7-tuple; 81 85 = one 5-tuple update; d8 2a 58 29 00 ‖ 40-byte CID; d8 2a 58 28 00 ‖ 39-byte CID
const expected = concatBytes(
  fromHex('87' + '81' + '85' + '01' + '02' + '00'),
  fromHex('d82a5829' + '00'),
  commR.bytes,
  fromHex('81' + '84' + 'd82a5828' + '00'),
  commP.bytes,
  fromHex(
    '190800' + // Size 2048
      '82' +
      '1903e8' +
      '05' + // VerifiedAllocationKey [client 1000, id 5]
      '81' +
      '82' +
      '420005' +
      '4100' + // Notify [[f05, h'00']]
      '81' +
      '420102' + // SectorProofs [h'0102']
      '40' + // AggregateProof h''
      '00' + // UpdateProofsType 0 (StackedDrg2KiBV1)
      'f6' + // AggregateProofType null
      'f5' + // RequireActivationSuccess
      'f4', // RequireNotificationSuccess
  ),
);

describe('ProveReplicaUpdates3 codec', () => {
  it('is miner method 35', () => {
    assert.equal(PROVE_REPLICA_UPDATES3_METHOD, 35);
  });

  it('encodes in the actors tuple order, byte for byte, and decodes back', () => {
    const enc = encodeProveReplicaUpdates3Params(params);
    assert.equal(toHex(enc), toHex(expected));
    const dec = decodeProveReplicaUpdates3Params(decodeCbor(expected));
    assert.equal(toHex(encodeProveReplicaUpdates3Params(dec)), toHex(expected));
    assert.equal(dec.sectorUpdates[0]!.pieces[0]!.notify[0]!.address.toString(), idAddress(5).toString());
    assert.deepEqual(dec.sectorUpdates[0]!.pieces[0]!.verifiedAllocationKey, { client: 1000, id: 5 });
  });

  it('refuses a wrong shape, naming the field', () => {
    assert.throws(
      () => decodeProveReplicaUpdates3Params(decodeCbor(fromHex('86' + '80' + '80' + '40' + '00' + 'f6' + 'f5'))),
      (e: Error) => e instanceof EncodingError && /ProveReplicaUpdates3Params/.test(e.message),
    );
    // a SectorUpdateManifest whose NewSealedCID is bytes, not a CID
    const bad = fromHex(
      '87' + '81' + '85' + '01' + '02' + '00' + '4100' + '80' + '80' + '40' + '00' + 'f6' + 'f5' + 'f4',
    );
    assert.throws(
      () => decodeProveReplicaUpdates3Params(decodeCbor(bad)),
      (e: Error) => e instanceof EncodingError && /NewSealedCID/.test(e.message),
    );
  });

  it('the return is a BatchReturn: [SuccessCount, [[Idx, Code]]]', () => {
    const r = { successCount: 1, failCodes: [{ idx: 1, code: 16 }] };
    const b = encodeProveReplicaUpdates3Return(r);
    assert.equal(toHex(b), '82' + '01' + '81' + '82' + '01' + '10');
    assert.deepEqual(decodeProveReplicaUpdates3Return(b), r);
  });
});
