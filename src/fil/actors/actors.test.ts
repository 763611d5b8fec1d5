/**
 * Market / verifreg / datacap codec tests. The byte vectors are laid out by hand from builtin-actors' tuple order
 * (actors/market/src/deal.rs DealProposal, ClientDealProposal; actors/verifreg/src/types.rs AllocationRequest(s);
 * frc46 TransferParams) with the CBOR forms docs/spec/chain.md fixes (f01000 → 43 00 e8 07, big ints as sign byte ‖
 * magnitude, CIDs as tag 42 over 00 ‖ CID bytes). The FRC-42 numbers are those builtin-actors' method_hash! yields
 * for datacap Transfer (80475954) and market AddBalance (822473126), as published in the actors' method tables.
 * One upstream vector: a PublishStorageDealsParams from Zondax/filecoin-solidity's FVM market test (see the test).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idAddress } from '../address.js';
import { fromHex, toHex } from '../bytes.js';
import { decodeCbor } from '../cbor.js';
import { commPToCid } from '../cid.js';
import { EncodingError } from '../errors.js';
import { generateKey } from '../keys.js';
import { signWithKey, verifySignature } from '../signature.js';
import {
  allocationTransferParams,
  DATACAP_TOKEN_PRECISION,
  DatacapMethod,
  decodeDatacapTransferParams,
  decodeDatacapTransferReturn,
  encodeDatacapTransferReturn,
} from './datacap.js';
import { frc42MethodNumber } from './frc42.js';
import {
  type ClientDealProposal,
  type DealProposal,
  dealProposalCid,
  decodeDealIdPayload,
  decodeDealProposal,
  decodeDealState,
  decodeMarketWithdrawBalanceParams,
  decodePublishStorageDealsParams,
  decodePublishStorageDealsReturn,
  decodeSectorContentChangedParams,
  decodeSectorContentChangedReturn,
  encodeAddBalanceParams,
  encodeDealIdPayload,
  encodeDealProposal,
  encodeDealState,
  encodeMarketWithdrawBalanceParams,
  encodePublishStorageDealsParams,
  encodePublishStorageDealsReturn,
  encodeSectorContentChangedParams,
  encodeSectorContentChangedReturn,
  isPieceCid,
  MarketMethod,
  paddedPieceSizeProblem,
} from './market.js';
import {
  decodeAllocation,
  decodeAllocationRequests,
  decodeAllocationsResponse,
  decodeClaimAllocationsParams,
  decodeVerifregClaim,
  encodeAllocation,
  encodeAllocationRequests,
  encodeAllocationsResponse,
  encodeClaimAllocationsParams,
  encodeVerifregClaim,
  VerifregMethod,
} from './verifreg.js';

const COMMP = new Uint8Array(32).fill(0x11);
const PIECE = commPToCid(COMMP);
// tag 42, bytes(40): 00 ‖ 01 81e203 92 20 20 ‖ commP
const PIECE_CBOR = `d82a5828000181e203922020${'11'.repeat(32)}`;

const proposal: DealProposal = {
  pieceCid: PIECE,
  pieceSize: 2048,
  verifiedDeal: true,
  client: idAddress(1000),
  provider: idAddress(1001),
  label: 'hi',
  startEpoch: 100,
  endEpoch: 518500,
  storagePricePerEpoch: 0n,
  providerCollateral: 1_000_000n,
  clientCollateral: 0n,
};
const PROPOSAL_HEX = [
  '8b', // array(11)
  PIECE_CBOR, // PieceCID
  '190800', // PieceSize 2048
  'f5', // VerifiedDeal true
  '4300e807', // Client f01000
  '4300e907', // Provider f01001
  '626869', // Label "hi" (text)
  '1864', // StartEpoch 100
  '1a0007e964', // EndEpoch 518500
  '40', // StoragePricePerEpoch 0
  '44000f4240', // ProviderCollateral 1000000
  '40', // ClientCollateral 0
].join('');

describe('market codecs', () => {
  it('encodes a deal proposal in builtin-actors tuple order, byte for byte', () => {
    assert.equal(toHex(encodeDealProposal(proposal)), PROPOSAL_HEX);
    assert.deepEqual(decodeDealProposal(fromHex(PROPOSAL_HEX)), proposal);
  });

  it('decodes and re-encodes an upstream PublishStorageDealsParams byte for byte', () => {
    // Zondax/filecoin-solidity testing/tests/market.rs (FVM integration test of the market actor): one deal for
    // piece baga…6b86b273…, 2048 bytes, client f0104, provider f0102, label "label", epochs 10..576010,
    // price and both collaterals 10 atto; its "signature" is type 2 over the proposal bytes themselves.
    const proposalHex =
      '8bd82a5828000181e2039220206b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b190800f4420068420066656c6162656c0a1a0008ca0a42000a42000a42000a';
    const paramsHex = `818182${proposalHex}584d02${proposalHex}`;
    const [d] = decodePublishStorageDealsParams(decodeCbor(fromHex(paramsHex)));
    assert.deepEqual(
      { ...d!.proposal, pieceCid: d!.proposal.pieceCid.toString(), client: d!.proposal.client.toString('f') },
      {
        pieceCid: commPToCid(fromHex('6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b')).toString(),
        pieceSize: 2048,
        verifiedDeal: false,
        client: 'f0104',
        provider: idAddress(102),
        label: 'label',
        startEpoch: 10,
        endEpoch: 576010,
        storagePricePerEpoch: 10n,
        providerCollateral: 10n,
        clientCollateral: 10n,
      },
    );
    assert.equal(d!.clientSignature.type, 2);
    assert.equal(toHex(encodeDealProposal(d!.proposal)), proposalHex);
    assert.equal(toHex(encodePublishStorageDealsParams([d!])), paramsHex);
  });

  it('keeps a byte label as a CBOR byte string', () => {
    const p = { ...proposal, label: Uint8Array.of(1, 2) };
    const hex = toHex(encodeDealProposal(p));
    assert.ok(hex.includes('4300e907420102'), hex);
    assert.deepEqual(decodeDealProposal(encodeDealProposal(p)).label, Uint8Array.of(1, 2));
  });

  it('wraps signed proposals in PublishStorageDealsParams: [[[proposal, sig]]]', () => {
    const sig = { type: 1, data: new Uint8Array(65).fill(7) };
    const cdp: ClientDealProposal = { proposal, clientSignature: sig };
    const hex = toHex(encodePublishStorageDealsParams([cdp]));
    // array(1) of array(1) of array(2): proposal, bytes(66) = 01 ‖ data
    assert.equal(hex, `818182${PROPOSAL_HEX}5842 01${'07'.repeat(65)}`.replace(' ', ''));
    const back = decodePublishStorageDealsParams(decodeCbor(fromHex(hex)));
    assert.deepEqual(back, [cdp]);
  });

  it('the client signature over the proposal bytes verifies with the client key', () => {
    const key = generateKey('secp256k1');
    const p = { ...proposal, client: key.address };
    const sig = signWithKey(key, encodeDealProposal(p));
    const [d] = decodePublishStorageDealsParams(
      decodeCbor(encodePublishStorageDealsParams([{ proposal: p, clientSignature: sig }])),
    );
    assert.ok(verifySignature(d!.clientSignature, d!.proposal.client, encodeDealProposal(d!.proposal)));
    assert.ok(!verifySignature(d!.clientSignature, d!.proposal.client, encodeDealProposal({ ...p, pieceSize: 4096 })));
  });

  it('refuses malformed proposals naming the field', () => {
    const bad = fromHex(PROPOSAL_HEX.replace('f5', '01'));
    assert.throws(
      () => decodeDealProposal(bad),
      (e: Error) => e instanceof EncodingError && /VerifiedDeal/.test(e.message),
    );
    const badLabel = fromHex(PROPOSAL_HEX.replace('626869', '01'));
    assert.throws(() => decodeDealProposal(badLabel), /Label/);
  });

  it('returns, params, deal id payload and deal state round trip', () => {
    const r = { ids: [5, 6], validDeals: [0, 2] };
    // [[5, 6], bitfield {0, 2}]
    assert.equal(toHex(encodePublishStorageDealsReturn(r)).slice(0, 8), '82820506');
    assert.deepEqual(decodePublishStorageDealsReturn(encodePublishStorageDealsReturn(r)), r);
    assert.equal(toHex(encodeDealIdPayload(5)), '05');
    assert.equal(toHex(encodeDealIdPayload(1000)), '1903e8');
    assert.equal(decodeDealIdPayload(fromHex('1903e8')), 1000);
    assert.throws(() => encodeDealIdPayload(-1), EncodingError);
    assert.equal(toHex(encodeAddBalanceParams(idAddress(1000))), '4300e807');
    const w = { providerOrClient: idAddress(1000), amount: 100000n };
    assert.equal(toHex(encodeMarketWithdrawBalanceParams(w)), '824300e80744000186a0');
    assert.deepEqual(decodeMarketWithdrawBalanceParams(decodeCbor(encodeMarketWithdrawBalanceParams(w))), w);
    const s = { sectorNumber: 3, sectorStartEpoch: 10, lastUpdatedEpoch: -1, slashEpoch: -1 };
    assert.equal(toHex(encodeDealState(s)), '84030a2020');
    assert.deepEqual(decodeDealState(encodeDealState(s)), s);
    const scc = [
      { sector: 3, minimumCommitmentEpoch: 900, added: [{ data: PIECE, size: 2048, payload: encodeDealIdPayload(5) }] },
    ];
    assert.deepEqual(decodeSectorContentChangedParams(decodeCbor(encodeSectorContentChangedParams(scc))), scc);
    assert.equal(toHex(encodeSectorContentChangedReturn([[true, false]])), '8182f5f4');
    assert.deepEqual(decodeSectorContentChangedReturn(fromHex('8182f5f4')), [[true, false]]);
  });

  it('proposal CIDs are dag-cbor blake2b-256, and piece checks follow the actors', () => {
    const c = dealProposalCid(proposal);
    assert.equal(c.code, 0x71);
    assert.equal(c.multihash.code, 0xb220);
    assert.ok(isPieceCid(PIECE));
    assert.ok(!isPieceCid(c));
    assert.equal(paddedPieceSizeProblem(2048), null);
    assert.match(paddedPieceSizeProblem(64)!, /minimum/);
    assert.match(paddedPieceSizeProblem(3072)!, /power of 2/);
  });
});

describe('verifreg and datacap codecs', () => {
  const req = { provider: 1001, data: PIECE, size: 2048, termMin: 518400, termMax: 777600, expiration: 100 };
  const REQS_HEX = [
    '82', // AllocationRequests
    '81', // Allocations (1)
    '86', // AllocationRequest
    '1903e9', // Provider 1001 (actor ID, not an address)
    PIECE_CBOR,
    '190800', // Size
    '1a0007e900', // TermMin 518400
    '1a000bdd80', // TermMax 777600
    '1864', // Expiration 100
    '80', // Extensions []
  ].join('');

  it('encodes AllocationRequests byte for byte', () => {
    const bytes = encodeAllocationRequests({ allocations: [req], extensions: [] });
    assert.equal(toHex(bytes), REQS_HEX);
    assert.deepEqual(decodeAllocationRequests(bytes), { allocations: [req], extensions: [] });
  });

  it('a datacap transfer to f06 carries the requests and sizes × 10^18', () => {
    const params = allocationTransferParams([req, { ...req, size: 4096 }]);
    const t = decodeDatacapTransferParams(decodeCbor(params));
    assert.equal(t.to.toString('f'), 'f06');
    assert.equal(t.amount, 6144n * DATACAP_TOKEN_PRECISION);
    assert.equal(decodeAllocationRequests(t.operatorData).allocations.length, 2);
    // [To f06, Amount, OperatorData]
    // 6144 × 10^18 = 0x014d1120d7b160000000: bytes(11) = sign byte 00 ‖ 10-byte magnitude, then bytes(len) of the requests
    assert.equal(toHex(params).slice(0, 32), '834200064b00014d1120d7b160000000');
    const ret = {
      fromBalance: 1n,
      toBalance: 2n,
      recipientData: encodeAllocationsResponse({
        allocationResults: { successCount: 1, failCodes: [] },
        extensionResults: { successCount: 0, failCodes: [] },
        newAllocations: [7],
      }),
    };
    const back = decodeDatacapTransferReturn(encodeDatacapTransferReturn(ret));
    assert.deepEqual(back, ret);
    assert.deepEqual(decodeAllocationsResponse(back.recipientData).newAllocations, [7]);
    assert.equal(toHex(back.recipientData), '8382018082008081 07'.replace(' ', ''));
  });

  it('allocation, claim and ClaimAllocations round trip', () => {
    const a = { client: 1000, provider: 1001, data: PIECE, size: 2048, termMin: 1, termMax: 2, expiration: 3 };
    assert.deepEqual(decodeAllocation(encodeAllocation(a)), a);
    const c = {
      provider: 1001,
      client: 1000,
      data: PIECE,
      size: 2048,
      termMin: 1,
      termMax: 2,
      termStart: 9,
      sector: 4,
    };
    assert.deepEqual(decodeVerifregClaim(encodeVerifregClaim(c)), c);
    const sectors = [{ sector: 4, expiry: 99, claims: [{ client: 1000, allocationId: 7, data: PIECE, size: 2048 }] }];
    assert.deepEqual(decodeClaimAllocationsParams(decodeCbor(encodeClaimAllocationsParams(sectors, true))), {
      sectors,
      allOrNothing: true,
    });
  });

  it('method numbers are the FRC-42 hashes builtin-actors uses', () => {
    assert.equal(frc42MethodNumber('Transfer'), 80475954);
    assert.equal(DatacapMethod.TransferExported, frc42MethodNumber('Transfer'));
    assert.equal(DatacapMethod.TransferFromExported, frc42MethodNumber('TransferFrom'));
    assert.equal(DatacapMethod.BalanceExported, frc42MethodNumber('Balance'));
    assert.equal(DatacapMethod.MintExported, frc42MethodNumber('Mint'));
    assert.equal(MarketMethod.AddBalanceExported, 822473126);
    assert.equal(MarketMethod.AddBalanceExported, frc42MethodNumber('AddBalance'));
    assert.equal(MarketMethod.PublishStorageDealsExported, frc42MethodNumber('PublishStorageDeals'));
    assert.equal(MarketMethod.SectorContentChanged, frc42MethodNumber('SectorContentChanged'));
    assert.equal(VerifregMethod.UniversalReceiverHook, frc42MethodNumber('Receive'));
    assert.throws(() => frc42MethodNumber('lower'), EncodingError);
  });
});
