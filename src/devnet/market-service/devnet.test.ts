/**
 * The market on a running devnet with the real actors: `client import` of a verified direct deal (datacap
 * allocation) and of a builtin-market deal (AddBalance, signed proposal, PublishStorageDeals from the miner's
 * worker through the messager and the registered wallet), then AssignDeals over JSON-RPC (direct deal first,
 * builtin next, each in its own sector), `client list`, `client retrieve` of the stored copy, and bad arguments.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FullNodeAPI } from '../../api/full.js';
import { MarketApi } from '../../api/market.js';
import { fromBase64, idAddress, type KeyInfo, messageToJSON, newMessage, parseAddress } from '../../fil/index.js';
import { createClient } from '../../rpc/index.js';
import { envOfHome, importFile, retrieve } from '../client-cli.js';
import { decodeCreateMinerReturn, encodeCreateMinerParams } from '../codec.js';
import { startGenesisWallet } from '../genesis-wallet.js';
import { initHome, loadKeys, loadSettings } from '../home.js';
import { marketState } from '../market/state.js';
import { createMinerDeposit, makePolicy } from '../policy.js';
import { DevnetService } from '../service.js';
import { AcceptingVerifier } from '../verifier.js';

let dir: string;
let svc: DevnetService;
let keys: KeyInfo[];
let miner: string;
let stopWallet: () => Promise<void>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'market-devnet-'));
  await initHome({ home: dir, blockTimeMs: 100, listen: '127.0.0.1:0' }, new AcceptingVerifier());
  keys = loadKeys(dir);
  svc = await DevnetService.start({ home: dir, verifier: new AcceptingVerifier() });
  // a wallet registered with the gateway, signing with the home's keys (what venus-wallet does)
  stopWallet = await startGenesisWallet(svc, keys);
  const full = createClient(FullNodeAPI, { url: svc.url('v1'), token: svc.token, timeoutMs: 0 });
  const [owner, worker] = loadSettings(dir).accounts.map((a) => parseAddress(a.address));
  const sm = await full.MpoolPushMessage(
    messageToJSON(
      newMessage({
        from: owner!,
        to: idAddress(4),
        method: 2,
        value: createMinerDeposit(makePolicy()),
        params: encodeCreateMinerParams({
          owner: owner!,
          worker: worker!,
          windowPoStProofType: 10,
          peer: new Uint8Array(0),
          multiaddrs: [],
        }),
      }),
    ),
    null,
  );
  const r = await full.StateWaitMsg(sm.CID!, 0, -1, true);
  assert.equal(r?.Receipt.ExitCode, 0);
  miner = decodeCreateMinerReturn(fromBase64(r!.Receipt.Return!)).idAddress.toString();
  await full.close();
});

after(async () => {
  await stopWallet();
  await svc.stop();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, n: number): { path: string; data: Buffer } {
  const data = randomBytes(n);
  const path = join(dir, name);
  writeFileSync(path, data);
  return { path, data };
}

const noSpec = {
  MaxPiece: 0,
  MaxPieceSize: 0,
  MinPiece: 0,
  MinPieceSize: 0,
  MinUsedSpace: 0,
  StartEpoch: 0,
  EndEpoch: 0,
  SectorExpiration: null,
};
const opts = { duration: '518400', startDelay: '2880', price: '1', wait: true };

describe('the market on a devnet', () => {
  test('import (direct and builtin), assign, list, retrieve', async () => {
    const env = envOfHome(dir);
    const a = file('a.bin', 1000);
    const ddo = await importFile(env, a.path, { ...opts, provider: miner, verified: true });
    assert.equal(ddo.deal.Kind, 'ddo');
    assert.equal(ddo.deal.State, 'waiting');
    assert.ok(ddo.deal.AllocationID > 0);
    assert.equal(ddo.pieceSize, 1024);
    const b = file('b.bin', 300);
    const mk = await importFile(env, b.path, { ...opts, provider: miner, kind: 'market' });
    assert.equal(mk.deal.Kind, 'market');
    assert.equal(mk.deal.State, 'waiting', mk.deal.Reason ?? '');
    // the chain's first deal id is 0: a builtin deal is told by its publish message, not by a non-zero id
    assert.ok(mk.deal.ProposalCid);
    assert.equal(marketState(svc.node.view()).proposals[mk.deal.DealID]?.pieceCid, mk.pieceCid, 'published on chain');

    const market = createClient(MarketApi, { url: svc.url('v1'), token: svc.token });
    const mid = Number(miner.slice(2));
    const s1 = await market.AssignDeals({ Miner: mid, Number: 1 }, 2048, noSpec);
    const d1 = s1!.filter((d) => d.PublishCid || d.AllocationID);
    assert.deepEqual(
      d1.map((d) => [d.AllocationID, d.PieceCID['/'], d.Offset, d.PayloadSize]),
      [[ddo.deal.AllocationID, ddo.pieceCid, 0, 1000]],
    );
    assert.deepEqual(await market.AssignDeals({ Miner: mid, Number: 1 }, 2048, noSpec), s1, 'the same answer again');
    const s2 = (await market.AssignDeals({ Miner: mid, Number: 2 }, 2048, noSpec))!.filter((d) => d.PublishCid);
    assert.equal(s2.length, 1);
    assert.equal(s2[0].DealID, mk.deal.DealID);
    assert.ok(s2[0].PublishCid);
    await market.close();

    const { DevnetMarketAPI } = await import('./client-api.js');
    const c = createClient(DevnetMarketAPI, { url: svc.url('v1'), token: svc.token });
    const deals = await c.ListDeals();
    assert.deepEqual(
      deals.map((d) => [d.Kind, d.State, d.Sector]),
      [
        ['ddo', 'sealing', 1],
        ['market', 'sealing', 2],
      ],
    );
    await c.close();

    const out = join(dir, 'a.out');
    const got = await retrieve(env, ddo.pieceCid, { out, timeout: '5s' });
    assert.equal(got.bytes, 1000);
    assert.equal(got.sha256, createHash('sha256').update(a.data).digest('hex'));
  });

  test('bad arguments are refused with the reason', async () => {
    const env = envOfHome(dir);
    const a = file('c.bin', 100);
    await assert.rejects(importFile(env, a.path, { ...opts, provider: 't3abc' }), /--provider/);
    await assert.rejects(
      importFile(env, a.path, { ...opts, provider: miner, duration: '100' }),
      /--duration must be between/,
    );
    await assert.rejects(importFile(env, a.path, { ...opts, provider: miner, kind: 'ddo' }), /add --verified/);
    await assert.rejects(
      importFile(env, a.path, { ...opts, provider: miner, kind: 'snap' }),
      /--kind must be ddo or market/,
    );
    await assert.rejects(importFile(env, join(dir, 'nope'), { ...opts, provider: miner }), /no such file/);
    writeFileSync(join(dir, 'empty'), '');
    await assert.rejects(importFile(env, join(dir, 'empty'), { ...opts, provider: miner }), /is empty/);
    await assert.rejects(retrieve(env, 'bafy-nope', { out: join(dir, 'x'), timeout: '1s' }), /not a piece CID/);
  });
});
