/**
 * Deal rules of the devnet's market (f05), verified registry (f06) and datacap (f07), and their activation by the
 * miner's ProveCommitSectors3, against builtin-actors' behaviour (docs/deals-chain.md).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  allocationTransferParams,
  CID,
  type ClientDealProposal,
  commPToCid,
  DATACAP_TOKEN_PRECISION,
  DatacapMethod,
  type DealProposal,
  decodeAllocationsResponse,
  decodeCbor,
  decodeDatacapTransferParams,
  decodeDatacapTransferReturn,
  decodeRemoveExpiredAllocationsReturn,
  encodeDealIdPayload,
  encodeDealProposal,
  encodeRemoveExpiredAllocationsParams,
  generateKey,
  idAddress,
  type Key,
  signWithKey,
  VerifregMethod,
} from '../../fil/index.js';
import { ExitCode } from '../exitcode.js';
import { qaPowerForWeight } from '../miner/state.js';
import {
  type PieceActivationManifest,
  preCommitSectorBatch2,
  proveCommitSectors3,
  type SectorPreCommitInfo,
} from '../miner.js';
import { initialPledgeForPower, makePolicy } from '../policy.js';
import { DST } from '../runtime.js';
import { BURNT_FUNDS_ACTOR, DATACAP_ACTOR, MARKET_ACTOR, VERIFREG_ACTOR } from '../state.js';
import {
  ActorHarness,
  DigestVerifier,
  idAddressCbor,
  MINER,
  OTHER,
  testRandomness,
  testSealedCid,
  WORKER,
} from '../testkit.js';
import { invokeDatacap, invokeVerifreg, mintDatacap } from '../verifreg/actor.js';
import { datacapBalance, verifregState } from '../verifreg/state.js';
import { marketCronTick, sectorContentChanged } from './activate.js';
import { addBalance, publishStorageDeals, withdrawBalance } from './publish.js';
import { DEAL_UPDATES_INTERVAL, escrowOf, lockedOf, marketState, nextUpdateEpoch } from './state.js';

const policy = makePolicy();
const FIL = 10n ** 18n;
const PC = 1000; // pre-commit epoch
const PROVE = PC + 20;
const START = PC + 500;
const DURATION = 600_000;
const EXPIRATION = PC + 700_000;

const piece = (seed: number) => commPToCid(new Uint8Array(32).fill(seed));

interface World {
  h: ActorHarness;
  client: number;
  key: Key;
}

async function world(datacapBytes = 64n << 30n): Promise<World> {
  const h = new ActorHarness(policy);
  h.root.createSingleton(MARKET_ACTOR, 'market', {});
  h.root.createSingleton(VERIFREG_ACTOR, 'verifreg', {});
  h.root.createSingleton(DATACAP_ACTOR, 'datacap', {});
  const key = generateKey('secp256k1');
  const client = h.root.createActor('account', { address: key.address.key() }, key.address, 1000n * FIL);
  if (datacapBytes > 0n) mintDatacap(h.root, client, datacapBytes * DATACAP_TOKEN_PRECISION);
  h.root.flush();
  await fund(h, client, client, 10n * FIL);
  await fund(h, WORKER, MINER, 10n * FIL);
  return { h, client, key };
}

async function fund(h: ActorHarness, from: number, forWhom: number, amount: bigint) {
  const r = await h.call({ caller: from, epoch: 1, receiver: MARKET_ACTOR, value: amount }, (rt) =>
    addBalance(rt, idAddress(forWhom)),
  );
  assert.equal(r.exitCode, 0, r.message);
}

function proposal(w: World, over: Partial<DealProposal> = {}): DealProposal {
  return {
    pieceCid: piece(1),
    pieceSize: 1024,
    verifiedDeal: false,
    client: w.key.address,
    provider: idAddress(MINER),
    label: 'bafk-payload',
    startEpoch: START,
    endEpoch: START + DURATION,
    storagePricePerEpoch: 1000n,
    providerCollateral: FIL,
    clientCollateral: 0n,
    ...over,
  };
}

const signed = (w: World, p: DealProposal, key = w.key): ClientDealProposal => ({
  proposal: p,
  clientSignature: signWithKey(key, encodeDealProposal(p)),
});

function publish(w: World, deals: ClientDealProposal[], caller = WORKER, epoch = PC) {
  return w.h.call({ caller, epoch, receiver: MARKET_ACTOR }, (rt) => publishStorageDeals(rt, deals));
}

async function rejects(h: ActorHarness, code: number, run: () => Promise<{ exitCode: number; message?: string }>) {
  const before = h.snapshot();
  const r = await run();
  assert.equal(r.exitCode, code, `want exit ${code}, got ${r.exitCode}: ${r.message}`);
  assert.equal(h.snapshot(), before, 'a failed call must change nothing');
  return r;
}

/** rejects() for a seal: the pre-commit (which succeeds) runs first, outside the unchanged-state check. */
let precommitOnly = false;
async function sealRejects(h: ActorHarness, code: number, run: () => Promise<{ exitCode: number; message?: string }>) {
  precommitOnly = true;
  try {
    await run();
  } finally {
    precommitOnly = false;
  }
  return rejects(h, code, run);
}

// ---- sealing helpers (the DigestVerifier's CommD is a digest of the piece CIDs)

function pci(h: ActorHarness, n: number, pieces: { cid: CID; size: number }[]): SectorPreCommitInfo {
  return {
    sealProof: 5,
    sectorNumber: n,
    sealedCid: testSealedCid(n),
    sealRandEpoch: PC - 900,
    dealIds: [],
    expiration: EXPIRATION,
    unsealedCid: h.verifier.unsealedCid(
      5,
      pieces.map((p) => ({ cid: p.cid.bytes, size: p.size })),
    ),
  };
}

function sealProof(h: ActorHarness, n: number): Uint8Array {
  const pc = h.miner.preCommittedSectors[n]!;
  const entropy = idAddressCbor(MINER);
  return DigestVerifier.sealProof({
    minerId: MINER,
    sectorNumber: n,
    ticket: testRandomness.fromTickets(DST.SealRandomness, pc.info.sealRandEpoch, entropy),
    seed: testRandomness.fromBeacon(DST.InteractiveSealChallengeSeed, pc.preCommitEpoch + 10, entropy),
    sealedCid: pc.info.sealedCid,
    unsealedCid: pc.info.unsealedCid!,
  });
}

async function seal(
  h: ActorHarness,
  n: number,
  manifests: PieceActivationManifest[],
  o: {
    epoch?: number;
    requireActivation?: boolean;
    requireNotification?: boolean;
    declared?: { cid: CID; size: number }[];
  } = {},
) {
  const declared = o.declared ?? manifests.map((m) => ({ cid: CID.decode(m.cid), size: m.size }));
  if (!h.miner.preCommittedSectors[n]) {
    const r = await h.call({ caller: WORKER, epoch: PC }, (rt) =>
      preCommitSectorBatch2(rt, { sectors: [pci(h, n, declared)] }),
    );
    assert.equal(r.exitCode, 0, r.message);
  }
  if (precommitOnly) return { exitCode: 0 };
  return h.call({ caller: WORKER, epoch: o.epoch ?? PROVE }, (rt) =>
    proveCommitSectors3(rt, {
      sectorActivations: [{ sectorNumber: n, pieces: manifests }],
      sectorProofs: [sealProof(h, n)],
      aggregateProof: new Uint8Array(0),
      aggregateProofType: null,
      requireActivationSuccess: o.requireActivation ?? true,
      requireNotificationSuccess: o.requireNotification ?? true,
    }),
  );
}

const manifest = (
  cid: CID,
  size: number,
  o: { dealId?: number; alloc?: { client: number; id: number } } = {},
): PieceActivationManifest => ({
  cid: cid.bytes,
  size,
  verifiedAllocationKey: o.alloc ?? null,
  notify: o.dealId === undefined ? [] : [{ address: idAddress(MARKET_ACTOR), payload: encodeDealIdPayload(o.dealId) }],
});

function unprovenPower(h: ActorHarness) {
  let raw = 0n;
  let qa = 0n;
  for (const dl of h.miner.deadlines)
    for (const p of dl.partitions) {
      raw += p.unprovenPower.raw;
      qa += p.unprovenPower.qa;
    }
  return { raw, qa };
}

describe('market escrow', () => {
  test('AddBalance credits the escrow; WithdrawBalance returns at most the unlocked part to the right party', async () => {
    const w = await world();
    const { h, client } = w;
    assert.equal(escrowOf(marketState(h.root), client), 10n * FIL);
    await rejects(h, ExitCode.ErrIllegalArgument, () =>
      h.call({ caller: client, epoch: 2, receiver: MARKET_ACTOR }, (rt) => addBalance(rt, idAddress(client))),
    );
    // a miner's escrow is withdrawn by its owner or worker only, to the owner
    await rejects(h, ExitCode.ErrForbidden, () =>
      h.call({ caller: OTHER, epoch: 2, receiver: MARKET_ACTOR }, (rt) => withdrawBalance(rt, idAddress(MINER), FIL)),
    );
    const before = h.balance(client);
    const r = await h.call({ caller: client, epoch: 2, receiver: MARKET_ACTOR }, (rt) =>
      withdrawBalance(rt, idAddress(client), 100n * FIL),
    );
    assert.equal(r.ret, 10n * FIL, 'only what is there comes out');
    assert.equal(h.balance(client), before + 10n * FIL);
  });
});

describe('PublishStorageDeals', () => {
  test('publishes a signed deal: locks client fee and provider collateral, schedules cron', async () => {
    const w = await world();
    const r = await publish(w, [signed(w, proposal(w))]);
    assert.equal(r.exitCode, 0, r.message);
    assert.deepEqual(r.ret, { ids: [1], validDeals: [0] });
    const st = marketState(w.h.root);
    assert.equal(st.proposals[1]!.client, w.client, 'client normalised to its ID');
    assert.equal(lockedOf(st, w.client), 1000n * BigInt(DURATION));
    assert.equal(lockedOf(st, MINER), FIL);
    assert.deepEqual(st.dealOpsByEpoch[nextUpdateEpoch(1, DEAL_UPDATES_INTERVAL, START)], [1]);
  });

  test('refusals name the reason: bad signature, start passed, wrong caller, bad piece, short duration, funds', async () => {
    const w = await world();
    const { h } = w;
    const ia = ExitCode.ErrIllegalArgument;
    const other = generateKey('secp256k1');
    let r = await rejects(h, ia, () => publish(w, [signed(w, proposal(w), other)]));
    assert.match(r.message!, /authentication failed/);
    r = await rejects(h, ia, () =>
      publish(w, [signed(w, proposal(w, { startEpoch: PC - 1, endEpoch: PC - 1 + DURATION }))]),
    );
    assert.match(r.message!, /start epoch .* has already elapsed/);
    r = await rejects(h, ExitCode.ErrForbidden, () => publish(w, [signed(w, proposal(w))], OTHER));
    assert.match(r.message!, /not worker or control address/);
    r = await rejects(h, ia, () => publish(w, [signed(w, proposal(w, { pieceSize: 1000 }))]));
    assert.match(r.message!, /power of 2/);
    r = await rejects(h, ia, () => publish(w, [signed(w, proposal(w, { pieceCid: CID.decode(testSealedCid(1)) }))]));
    assert.match(r.message!, /not a piece CID/);
    r = await rejects(h, ia, () => publish(w, [signed(w, proposal(w, { endEpoch: START + 100 }))]));
    assert.match(r.message!, /duration 100 out of bounds/);
    r = await rejects(h, ia, () => publish(w, [signed(w, proposal(w, { providerCollateral: 11n * FIL }))]));
    assert.match(r.message!, /insufficient provider funds/);
    r = await rejects(h, ia, () => publish(w, [signed(w, proposal(w, { storagePricePerEpoch: FIL }))]));
    assert.match(r.message!, /insufficient client funds/);
    // a deal for another provider: the provider is not a miner
    r = await rejects(h, ia, () => publish(w, [signed(w, proposal(w, { provider: idAddress(OTHER) }))]));
    assert.match(r.message!, /not a storage miner/);
  });

  test('invalid deals are dropped from a batch; duplicates too', async () => {
    const w = await world();
    const good = signed(w, proposal(w));
    const bad = signed(w, proposal(w, { pieceCid: piece(2) }), generateKey('bls'));
    const r = await publish(w, [bad, good, good]);
    assert.equal(r.exitCode, 0, r.message);
    assert.deepEqual(r.ret, { ids: [1], validDeals: [1] });
    await rejects(w.h, ExitCode.ErrIllegalArgument, () => publish(w, [good]));
  });

  test('a verified deal spends the client datacap on an allocation for the provider; datacap short is refused', async () => {
    const w = await world(2048n);
    const r = await publish(w, [signed(w, proposal(w, { verifiedDeal: true, pieceSize: 2048 }))]);
    assert.equal(r.exitCode, 0, r.message);
    assert.equal(datacapBalance(w.h.root, w.client), 0n);
    const st = marketState(w.h.root);
    const allocId = st.pendingDealAllocationIds[1]!;
    const alloc = verifregState(w.h.root).allocations[w.client]![allocId]!;
    assert.deepEqual(
      {
        provider: alloc.provider,
        size: alloc.size,
        termMin: alloc.termMin,
        expiration: alloc.expiration,
        data: alloc.data,
      },
      { provider: MINER, size: 2048, termMin: DURATION, expiration: START, data: piece(1).toString() },
    );
    assert.equal(alloc.termMax, DURATION + 90 * 2880);
    const again = await rejects(w.h, ExitCode.ErrIllegalArgument, () =>
      publish(w, [signed(w, proposal(w, { verifiedDeal: true, pieceSize: 2048, pieceCid: piece(3) }))]),
    );
    assert.match(again.message!, /0 bytes of datacap, the verified deal needs 2048/);
  });
});

describe('datacap TransferExported to f06 (direct allocations)', () => {
  const req = (over = {}) => ({
    provider: MINER,
    data: piece(5),
    size: 2048,
    termMin: 180 * 2880,
    termMax: 540 * 2880,
    expiration: PC + 1000,
    ...over,
  });
  const transfer = (w: World, params: Uint8Array, epoch = PC) =>
    w.h.call({ caller: w.client, epoch, receiver: DATACAP_ACTOR }, (rt) =>
      invokeDatacap(rt, DatacapMethod.TransferExported, params),
    );

  test('creates allocations returned as RecipientData, debits datacap', async () => {
    const w = await world(4096n);
    const r = await transfer(w, allocationTransferParams([req(), req({ data: piece(6) })]));
    assert.equal(r.exitCode, 0, r.message);
    const ret = decodeDatacapTransferReturn(r.ret!);
    assert.equal(ret.fromBalance, 0n);
    assert.deepEqual(decodeAllocationsResponse(ret.recipientData).newAllocations, [1, 2]);
    assert.equal(verifregState(w.h.root).allocations[w.client]![2]!.data, piece(6).toString());
  });

  test('refuses a non-miner provider, terms out of bounds, expired, amount mismatch and datacap short', async () => {
    const w = await world(4096n);
    const ia = ExitCode.ErrIllegalArgument;
    let r = await rejects(w.h, ia, () => transfer(w, allocationTransferParams([req({ provider: OTHER })])));
    assert.match(r.message!, /must be a miner actor/);
    r = await rejects(w.h, ia, () => transfer(w, allocationTransferParams([req({ termMin: 100 })])));
    assert.match(r.message!, /term min 100 below limit/);
    r = await rejects(w.h, ia, () => transfer(w, allocationTransferParams([req({ termMax: 6 * 1051920 })])));
    assert.match(r.message!, /term max .* above limit/);
    r = await rejects(w.h, ia, () => transfer(w, allocationTransferParams([req({ expiration: PC - 1 })])));
    assert.match(r.message!, /has passed/);
    r = await rejects(w.h, ia, () => transfer(w, allocationTransferParams([req({ size: 128 })])));
    assert.match(r.message!, /below minimum 256/);
    const t = decodeDatacapTransferParams(decodeCbor(allocationTransferParams([req()])));
    const { encodeDatacapTransferParams } = await import('../../fil/index.js');
    r = await rejects(w.h, ia, () => transfer(w, encodeDatacapTransferParams({ ...t, amount: t.amount * 2n })));
    assert.match(r.message!, /must match data cap amount received/);
    r = await rejects(w.h, ExitCode.ErrInsufficientFunds, () =>
      transfer(w, allocationTransferParams([req({ size: 8192 })])),
    );
    assert.match(r.message!, /needs 8192/);
  });
});

describe('RemoveExpiredAllocations', () => {
  test('returns the datacap of expired allocations to the client; unexpired and missing ones fail in the batch', async () => {
    const w = await world(4096n);
    const r0 = await w.h.call({ caller: w.client, epoch: PC, receiver: DATACAP_ACTOR }, (rt) =>
      invokeDatacap(
        rt,
        DatacapMethod.TransferExported,
        allocationTransferParams([
          { provider: MINER, data: piece(7), size: 2048, termMin: 600_000, termMax: 800_000, expiration: PC + 10 },
          { provider: MINER, data: piece(8), size: 2048, termMin: 600_000, termMax: 800_000, expiration: PC + 50 },
        ]),
      ),
    );
    assert.equal(r0.exitCode, 0, r0.message);
    assert.equal(datacapBalance(w.h.root, w.client), 0n);
    const remove = (ids: number[], epoch: number) =>
      w.h.call({ caller: OTHER, epoch, receiver: VERIFREG_ACTOR }, (rt) =>
        invokeVerifreg(
          rt,
          VerifregMethod.RemoveExpiredAllocations,
          encodeRemoveExpiredAllocationsParams({ client: w.client, allocationIds: ids }),
        ),
      );
    const named = await remove([1, 2, 9], PC + 11);
    assert.equal(named.exitCode, 0, named.message);
    const ret = decodeRemoveExpiredAllocationsReturn(named.ret!);
    assert.deepEqual(ret.results, {
      successCount: 1,
      failCodes: [
        { idx: 1, code: 18 },
        { idx: 2, code: 17 },
      ],
    });
    assert.equal(ret.datacapRecovered, 2048n);
    assert.equal(datacapBalance(w.h.root, w.client), 2048n * DATACAP_TOKEN_PRECISION);
    const all = decodeRemoveExpiredAllocationsReturn((await remove([], PC + 51)).ret!);
    assert.deepEqual(all.considered, [2]);
    assert.equal(datacapBalance(w.h.root, w.client), 4096n * DATACAP_TOKEN_PRECISION);
    assert.equal(verifregState(w.h.root).allocations[w.client], undefined);
  });
});

describe('activation in ProveCommitSectors3', () => {
  test('a builtin deal is activated by the market notification; activating it twice is refused', async () => {
    const w = await world();
    assert.equal((await publish(w, [signed(w, proposal(w))])).exitCode, 0);
    const r = await seal(w.h, 1, [manifest(piece(1), 1024, { dealId: 1 })]);
    assert.equal(r.exitCode, 0, r.message);
    const st = marketState(w.h.root);
    assert.deepEqual(st.states[1], { sectorNumber: 1, sectorStartEpoch: PROVE, lastUpdatedEpoch: -1, slashEpoch: -1 });
    assert.deepEqual(st.sectorDeals[MINER]![1], [1]);
    const s = w.h.miner.sectors[1]!;
    assert.equal(s.dealWeight, 1024n * BigInt(EXPIRATION - PROVE));
    assert.equal(s.verifiedDealWeight, 0n);
    assert.deepEqual(unprovenPower(w.h), { raw: 2048n, qa: 2048n }, 'unverified deals count 1×');
    // the same deal in another sector: rejected by the market, the sector is not activated
    const again = await sealRejects(w.h, 1004, () => seal(w.h, 2, [manifest(piece(1), 1024, { dealId: 1 })]));
    assert.match(again.message!, /already activated/);
    // cron after the start epoch takes the activated deal out of the pending set, nothing slashed
    marketCronTick(w.h.root, nextUpdateEpoch(1, DEAL_UPDATES_INTERVAL, START));
    w.h.root.flush();
    assert.equal(Object.keys(marketState(w.h.root).pendingProposals).length, 0);
    assert.equal(lockedOf(marketState(w.h.root), MINER), FIL);
  });

  test('a fully verified sector gets 10× QA power and the pledge of that power; the allocation becomes a claim', async () => {
    const w = await world();
    const r0 = await w.h.call({ caller: w.client, epoch: PC, receiver: DATACAP_ACTOR }, (rt) =>
      invokeDatacap(
        rt,
        DatacapMethod.TransferExported,
        allocationTransferParams([
          { provider: MINER, data: piece(7), size: 2048, termMin: 600_000, termMax: 800_000, expiration: PC + 100 },
        ]),
      ),
    );
    assert.equal(r0.exitCode, 0, r0.message);
    const pledgeBefore = w.h.miner.initialPledge;
    const r = await seal(w.h, 1, [manifest(piece(7), 2048, { alloc: { client: w.client, id: 1 } })]);
    assert.equal(r.exitCode, 0, r.message);
    const vr = verifregState(w.h.root);
    assert.equal(vr.allocations[w.client], undefined, 'allocation removed');
    assert.deepEqual(vr.claims[MINER]![1]!.sector, 1);
    assert.equal(vr.claims[MINER]![1]!.termStart, PROVE);
    const duration = EXPIRATION - PROVE;
    assert.equal(w.h.miner.sectors[1]!.verifiedDealWeight, 2048n * BigInt(duration));
    const qa = qaPowerForWeight(2048, duration, 2048n * BigInt(duration));
    assert.equal(qa, 20480n, 'fully verified = 10× raw');
    assert.deepEqual(unprovenPower(w.h), { raw: 2048n, qa });
    assert.equal(w.h.miner.initialPledge - pledgeBefore, initialPledgeForPower(policy, qa));
    assert.equal(datacapBalance(w.h.root, VERIFREG_ACTOR), 0n, 'claimed datacap is burnt');
  });

  test('a builtin verified deal claims its allocation and activates; half-verified sectors are 5.5×', async () => {
    const w = await world();
    const p = await publish(w, [signed(w, proposal(w, { verifiedDeal: true }))]);
    assert.equal(p.exitCode, 0, p.message);
    const alloc = marketState(w.h.root).pendingDealAllocationIds[1]!;
    const r = await seal(w.h, 1, [manifest(piece(1), 1024, { dealId: 1, alloc: { client: w.client, id: alloc } })]);
    assert.equal(r.exitCode, 0, r.message);
    assert.equal(marketState(w.h.root).pendingDealAllocationIds[1], undefined);
    assert.ok(marketState(w.h.root).states[1]);
    assert.equal(unprovenPower(w.h).qa, (2048n * 55n) / 10n);
  });

  test('an allocation for another piece, size or provider is refused; a second claim finds none', async () => {
    const w = await world();
    const r0 = await w.h.call({ caller: w.client, epoch: PC, receiver: DATACAP_ACTOR }, (rt) =>
      invokeDatacap(
        rt,
        DatacapMethod.TransferExported,
        allocationTransferParams([
          { provider: MINER, data: piece(7), size: 2048, termMin: 600_000, termMax: 800_000, expiration: PC + 100 },
        ]),
      ),
    );
    assert.equal(r0.exitCode, 0, r0.message);
    const key = { client: w.client, id: 1 };
    let r = await sealRejects(w.h, ExitCode.ErrIllegalArgument, () =>
      seal(w.h, 1, [manifest(piece(8), 2048, { alloc: key })]),
    );
    assert.match(r.message!, /is for piece .* the sector activates/);
    // without all-or-nothing the sector alone fails: every sector failed → all data activations failed
    r = await sealRejects(w.h, ExitCode.ErrIllegalArgument, () =>
      seal(w.h, 1, [manifest(piece(8), 2048, { alloc: key })], { requireActivation: false }),
    );
    assert.match(r.message!, /all data activations failed/);
    // CommD must still match the pieces
    r = await sealRejects(w.h, ExitCode.ErrIllegalArgument, () =>
      seal(w.h, 1, [manifest(piece(7), 2048, { alloc: key })], { declared: [{ cid: piece(8), size: 2048 }] }),
    );
    assert.match(r.message!, /unsealed CID does not match/);
    assert.equal((await seal(w.h, 2, [manifest(piece(7), 2048, { alloc: key })])).exitCode, 0);
    r = await sealRejects(w.h, ExitCode.ErrIllegalArgument, () =>
      seal(w.h, 3, [manifest(piece(7), 2048, { alloc: key })]),
    );
    assert.match(r.message!, /no allocation 1/);
    // an expired allocation cannot be claimed
    const r1 = await w.h.call({ caller: w.client, epoch: PC, receiver: DATACAP_ACTOR }, (rt) =>
      invokeDatacap(
        rt,
        DatacapMethod.TransferExported,
        allocationTransferParams([
          { provider: MINER, data: piece(9), size: 2048, termMin: 600_000, termMax: 800_000, expiration: PC + 15 },
        ]),
      ),
    );
    assert.equal(r1.exitCode, 0, r1.message);
    r = await sealRejects(w.h, ExitCode.ErrIllegalArgument, () =>
      seal(w.h, 4, [manifest(piece(9), 2048, { alloc: { client: w.client, id: 2 } })]),
    );
    assert.match(r.message!, /expired/);
  });

  test('the market refuses a piece that is not the deal, another provider, and a start passed', async () => {
    const w = await world();
    assert.equal((await publish(w, [signed(w, proposal(w))])).exitCode, 0);
    let r = await sealRejects(w.h, 1004, () => seal(w.h, 1, [manifest(piece(2), 1024, { dealId: 1 })]));
    assert.match(r.message!, /piece CID .* doesn't match/);
    r = await sealRejects(w.h, 1004, () =>
      seal(w.h, 2, [manifest(piece(1), 1024, { dealId: 1 })], { epoch: START + 1 }),
    );
    assert.match(r.message!, /start epoch .* has already elapsed/);
    const verdicts = sectorContentChanged(w.h.root.fork(), PROVE, OTHER, [
      {
        sector: 1,
        minimumCommitmentEpoch: EXPIRATION,
        added: [{ data: piece(1), size: 1024, payload: encodeDealIdPayload(1) }],
      },
    ]);
    assert.match(verdicts[0]![0]!.reason!, /must be f0/);
    // without requireNotificationSuccess the sector activates, the deal does not
    const ok = await seal(w.h, 1, [manifest(piece(2), 1024, { dealId: 1 })], { requireNotification: false });
    assert.equal(ok.exitCode, 0, ok.message);
    assert.equal(marketState(w.h.root).states[1], undefined);
  });
});

describe('market cron', () => {
  test('a deal not activated by its start epoch times out: client funds unlocked, provider collateral burnt', async () => {
    const w = await world();
    assert.equal((await publish(w, [signed(w, proposal(w, { verifiedDeal: true }))])).exitCode, 0);
    const due = nextUpdateEpoch(1, DEAL_UPDATES_INTERVAL, START);
    const burnt = w.h.balance(BURNT_FUNDS_ACTOR);
    marketCronTick(w.h.root, due - 1);
    w.h.root.flush();
    assert.ok(marketState(w.h.root).proposals[1], 'not due yet');
    marketCronTick(w.h.root, due);
    w.h.root.flush();
    const st = marketState(w.h.root);
    assert.equal(st.proposals[1], undefined);
    assert.equal(st.pendingDealAllocationIds[1], undefined);
    assert.equal(lockedOf(st, w.client), 0n);
    assert.equal(lockedOf(st, MINER), 0n);
    assert.equal(escrowOf(st, MINER), 9n * FIL);
    assert.equal(w.h.balance(BURNT_FUNDS_ACTOR) - burnt, FIL);
    const r = await sealRejects(w.h, 1004, () =>
      seal(w.h, 1, [manifest(piece(1), 1024, { dealId: 1 })], { epoch: PROVE }),
    );
    assert.match(r.message!, /expired or was removed/);
  });
});
