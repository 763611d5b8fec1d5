/**
 * Deals through signed messages on a whole devnet node: escrow, PublishStorageDeals, a datacap transfer creating an
 * allocation, and the Filecoin.State* reads of them (api-deals.ts) in Lotus shapes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  allocationTransferParams,
  commPToCid,
  DatacapMethod,
  type DealProposal,
  decodeAllocationsResponse,
  decodeDatacapTransferReturn,
  decodePublishStorageDealsReturn,
  encodeAddBalanceParams,
  encodeDealProposal,
  encodePublishStorageDealsParams,
  generateKey,
  idAddress,
  type Key,
  MarketMethod,
  signWithKey,
} from '../fil/index.js';
import { dealMethods } from './api-deals.js';
import { fullNodeImpl } from './api-full.js';
import { DevnetNode } from './node.js';
import { EPOCHS_IN_DAY, makePolicy } from './policy.js';
import { DATACAP_ACTOR, MARKET_ACTOR } from './state.js';
import { applyMessage, createTestMiner, DigestVerifier } from './testkit.js';

const FIL = 10n ** 18n;

describe('deals on a devnet node', () => {
  let dir: string;
  let node: DevnetNode;
  let owner: Key;
  let worker: Key;
  let client: Key;
  let miner: number;
  let api: ReturnType<typeof dealMethods>;
  const policy = makePolicy();
  const piece = (n: number) => commPToCid(new Uint8Array(32).fill(n));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'devnet-deals-'));
    owner = generateKey('bls');
    worker = generateKey('bls');
    client = generateKey('secp256k1');
    node = DevnetNode.create(
      join(dir, 'chain.db'),
      {
        policy,
        blockTimeMs: 100,
        genesisTimestamp: 1_700_000_000,
        seed: '11'.repeat(32),
        accounts: [owner, worker, client].map((k) => ({ address: k.address.toString(), balance: 1000n * FIL })),
        datacap: [{ address: client.address.toString(), bytes: 4096n }],
      },
      new DigestVerifier(),
    );
    api = dealMethods(node);
    miner = (await createTestMiner(node, policy, owner, worker)).id();
  });
  after(async () => {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const proposal = (over: Partial<DealProposal> = {}): DealProposal => ({
    pieceCid: piece(1),
    pieceSize: 2048,
    verifiedDeal: false,
    client: client.address,
    provider: idAddress(miner),
    label: 'payload',
    startEpoch: node.head.height + 100,
    endEpoch: node.head.height + 100 + 200 * EPOCHS_IN_DAY,
    storagePricePerEpoch: 0n,
    providerCollateral: FIL / 10n,
    clientCollateral: 0n,
    ...over,
  });

  test('AddBalance for client and provider, then StateMarketBalance', async () => {
    const c = await applyMessage(node, client, {
      to: idAddress(MARKET_ACTOR),
      method: MarketMethod.AddBalance,
      value: 2n * FIL,
      params: encodeAddBalanceParams(client.address),
    });
    assert.equal(c.exitCode, 0, c.error);
    const p = await applyMessage(node, worker, {
      to: idAddress(MARKET_ACTOR),
      method: MarketMethod.AddBalance,
      value: FIL,
      params: encodeAddBalanceParams(idAddress(miner)),
    });
    assert.equal(p.exitCode, 0, p.error);
    // served by the full-node implementation (Filecoin.* on /rpc/v1)
    const full = fullNodeImpl(node);
    assert.deepEqual(await full.StateMarketBalance(idAddress(miner).toString(), null, undefined as never), {
      Escrow: FIL.toString(),
      Locked: '0',
    });
    assert.deepEqual(await api.StateMarketBalance(client.address.toString(), null, undefined as never), {
      Escrow: (2n * FIL).toString(),
      Locked: '0',
    });
  });

  test('PublishStorageDeals from the worker: a plain and a verified deal, read back in Lotus shapes', async () => {
    const plain = proposal();
    const verified = proposal({ pieceCid: piece(2), verifiedDeal: true });
    const deals = [plain, verified].map((p) => ({
      proposal: p,
      clientSignature: signWithKey(client, encodeDealProposal(p)),
    }));
    const r = await applyMessage(node, worker, {
      to: idAddress(MARKET_ACTOR),
      method: MarketMethod.PublishStorageDeals,
      params: encodePublishStorageDealsParams(deals),
    });
    assert.equal(r.exitCode, 0, r.error);
    assert.deepEqual(decodePublishStorageDealsReturn(r.return), { ids: [1, 2], validDeals: [0, 1] });
    const d0 = (await api.StateMarketStorageDeal(1, null, undefined as never)) as Awaited<
      ReturnType<typeof api.StateMarketStorageDeal>
    >;
    assert.deepEqual(d0.State, { SectorNumber: 0, SectorStartEpoch: -1, LastUpdatedEpoch: -1, SlashEpoch: -1 });
    assert.equal(d0.Proposal.Client, idAddress(node.lookupId(client.address)!).toString());
    assert.equal(d0.Proposal.Provider, idAddress(miner).toString());
    assert.deepEqual(d0.Proposal.PieceCID, { '/': piece(1).toString() });
    assert.equal(d0.Proposal.ProviderCollateral, (FIL / 10n).toString());
    assert.equal(Object.keys(await api.StateMarketDeals(null, undefined as never)).length, 2);
    assert.equal(await api.StateGetAllocationIdForPendingDeal(1, null, undefined as never), 0);
    const allocId = await api.StateGetAllocationIdForPendingDeal(2, null, undefined as never);
    assert.equal(allocId, 1);
    const alloc = await api.StateGetAllocationForPendingDeal(2, null, undefined as never);
    assert.equal(alloc!.Provider, miner);
    assert.equal(alloc!.Size, 2048);
    assert.equal(await api.StateVerifiedClientStatus(client.address.toString(), null, undefined as never), '2048');
    const bal = await api.StateMarketBalance(`t0${miner}`, null, undefined as never);
    assert.equal(bal.Locked, (FIL / 5n).toString());
    await assert.rejects(async () => api.StateMarketStorageDeal(7, null, undefined as never), /deal 7 not found/);
  });

  test('a proposal signed by another key is refused with the reason in the receipt', async () => {
    const p = proposal({ pieceCid: piece(3) });
    const r = await applyMessage(node, worker, {
      to: idAddress(MARKET_ACTOR),
      method: MarketMethod.PublishStorageDeals,
      params: encodePublishStorageDealsParams([
        { proposal: p, clientSignature: signWithKey(generateKey('secp256k1'), encodeDealProposal(p)) },
      ]),
    });
    assert.equal(r.exitCode, 16);
    assert.match(r.error!, /proposal authentication failed/);
  });

  test('a datacap TransferExported to f06 makes a direct allocation, listed by StateGetAllocations', async () => {
    const epoch = node.head.height;
    const r = await applyMessage(node, client, {
      to: idAddress(DATACAP_ACTOR),
      method: DatacapMethod.TransferExported,
      params: allocationTransferParams([
        {
          provider: miner,
          data: piece(4),
          size: 2048,
          termMin: 180 * EPOCHS_IN_DAY,
          termMax: 540 * EPOCHS_IN_DAY,
          expiration: epoch + 1000,
        },
      ]),
    });
    assert.equal(r.exitCode, 0, r.error);
    const ids = decodeAllocationsResponse(decodeDatacapTransferReturn(r.return).recipientData).newAllocations;
    assert.deepEqual(ids, [2]);
    const all = await api.StateGetAllocations(client.address.toString(), null, undefined as never);
    assert.deepEqual(Object.keys(all).sort(), ['1', '2']);
    assert.deepEqual(all['2']!.Data, { '/': piece(4).toString() });
    assert.equal(await api.StateVerifiedClientStatus(client.address.toString(), null, undefined as never), null);
    assert.deepEqual(await api.StateGetClaims(`t0${miner}`, null, undefined as never), {});
    // no datacap left: a second transfer is refused
    const again = await applyMessage(node, client, {
      to: idAddress(DATACAP_ACTOR),
      method: DatacapMethod.TransferExported,
      params: allocationTransferParams([
        { provider: miner, data: piece(5), size: 2048, termMin: 518400, termMax: 518400, expiration: epoch + 1000 },
      ]),
    });
    assert.equal(again.exitCode, 19);
    assert.match(again.error!, /datacap of f0\d+ is 0 bytes/);
  });
});
