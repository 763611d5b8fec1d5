/**
 * The devnet over JSON-RPC: an independent plain-fetch client in Lotus' wire format, ChainNotify over
 * WebSocket, a wallet registering with the gateway (verifyaddress challenge) and signing what the messager
 * fills, a transfer and a CreateMiner through Message.*, and a restart that keeps chain and messager state.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FullNodeAPI } from '../api/full.js';
import { GatewayAPI, type RequestEvent, verifyAddressSignBytes } from '../api/gateway.js';
import { MessagerAPI } from '../api/messager.js';
import {
  addressOf,
  decodeMessage,
  drawRandomness,
  fromBase64,
  idAddress,
  type KeyInfo,
  messageCid,
  messageToJSON,
  newMessage,
  parseAddress,
  signatureToJSON,
  signWithKey,
  toBase64,
} from '../fil/index.js';
import { createClient } from '../rpc/index.js';
import { decodeCreateMinerReturn, encodeCreateMinerParams } from './codec.js';
import { initHome, loadKeys } from './home.js';
import { createMinerDeposit, makePolicy } from './policy.js';
import { DevnetService } from './service.js';
import { AcceptingVerifier } from './verifier.js';

let dir: string;
let svc: DevnetService;
let keys: KeyInfo[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'devnet-svc-'));
  await initHome(
    {
      home: dir,
      blockTimeMs: 100,
      listen: '127.0.0.1:0',
      accounts: ['bls', 'bls', 'secp256k1'],
      policy: {
        wpostChallengeWindow: 20,
        wpostPeriodDeadlines: 4,
        wpostChallengeLookback: 5,
        faultDeclarationCutoff: 10,
      },
    },
    new AcceptingVerifier(),
  );
  keys = loadKeys(dir);
  svc = await DevnetService.start({ home: dir, autoMine: false, verifier: new AcceptingVerifier() });
});
after(async () => {
  await svc.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Lotus wire format with plain fetch: no project code on the client side. */
async function lotus(method: string, params: unknown[], token?: string): Promise<unknown> {
  const res = await fetch(svc.url('v1'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', method: `Filecoin.${method}`, params, id: 1 }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(body.error.message);
  return body.result;
}

/** A wallet that registers with the gateway and signs with the genesis keys (what venus-wallet does). */
function startWallet(signed: string[]) {
  const gw = createClient(GatewayAPI, { url: svc.url('v1', 'ws'), token: svc.token });
  const signBytes = new Uint8Array(32).fill(7);
  const byAddr = new Map(keys.map((k) => [addressOf(k.type, k.privateKey).toString(), k]));
  const ready = (async () => {
    const sub = await gw.ListenWalletEvent({ SupportAccounts: ['devnet'], SignBytes: toBase64(signBytes) });
    let connected!: () => void;
    const done = new Promise<void>((r) => (connected = r));
    (async () => {
      for await (const ev of sub as AsyncIterable<RequestEvent>) {
        const payload = ev.Payload ? JSON.parse(Buffer.from(ev.Payload, 'base64').toString()) : null;
        if (ev.Method === 'WalletList') {
          await gw.ResponseWalletEvent({
            Id: ev.Id,
            Payload: toBase64(Buffer.from(JSON.stringify([...byAddr.keys()]))),
            Error: '',
          });
        } else if (ev.Method === 'WalletSign') {
          const key = byAddr.get(payload.Signer)!;
          const toSign = fromBase64(payload.ToSign);
          if (payload.Meta.Type === 'verifyaddress') {
            assert.deepEqual(toSign, verifyAddressSignBytes(fromBase64(payload.Meta.Extra), signBytes));
          } else {
            // a message: ToSign must be the CID of the message in Extra
            assert.equal(payload.Meta.Type, 'message');
            const m = decodeMessage(fromBase64(payload.Meta.Extra));
            assert.deepEqual(toSign, messageCid(m).bytes);
            signed.push(messageCid(m).toString());
          }
          const sig = signatureToJSON(signWithKey(key, toSign));
          await gw.ResponseWalletEvent({ Id: ev.Id, Payload: toBase64(Buffer.from(JSON.stringify(sig))), Error: '' });
        } else if (ev.Method === 'InitConnect') {
          connected();
        }
      }
    })();
    await done;
  })();
  return { gw, ready };
}

describe('venus-devnet over JSON-RPC', () => {
  test('an independent fetch client reads ChainHead; anonymous callers get read, not write', async () => {
    await svc.node.mine();
    const head = (await lotus('ChainHead', [])) as { Height: number; Cids: { '/': string }[]; Blocks: unknown[] };
    assert.equal(head.Height, 1);
    assert.match(head.Cids[0]!['/'], /^bafy2bza/);
    assert.equal(head.Blocks.length, 1);
    await assert.rejects(lotus('MpoolPush', [{}]), /missing permission/);
    const params = (await lotus('StateGetNetworkParams', [])) as {
      NetworkName: string;
      PreCommitChallengeDelay: number;
    };
    assert.equal(params.NetworkName, '2k');
    assert.equal(params.PreCommitChallengeDelay, 10);
    assert.equal(await lotus('StateNetworkVersion', [null]), 28);
  });

  test('randomness comes from the tickets and beacons served (docs/spec/chain.md §Randomness)', async () => {
    await svc.node.mine();
    await svc.node.mine();
    const entropy = toBase64(new Uint8Array([0x43, 0x00, 0xe8, 0x07])); // CBOR of f01000
    const block = async (h: number) =>
      (
        (await lotus('ChainGetTipSetByHeight', [h, null])) as {
          Blocks: { Ticket: { VRFProof: string }; BeaconEntries: { Data: string }[] }[];
        }
      ).Blocks[0]!;
    for (const epoch of [2, -890]) {
      const b = await block(Math.max(epoch, 0));
      const want = drawRandomness(fromBase64(b.Ticket.VRFProof), 5, epoch, fromBase64(entropy));
      assert.equal(await lotus('StateGetRandomnessFromTickets', [5, epoch, entropy, null]), toBase64(want));
      const wantBeacon = drawRandomness(fromBase64(b.BeaconEntries[0]!.Data), 6, epoch, fromBase64(entropy));
      assert.equal(await lotus('StateGetRandomnessFromBeacon', [6, epoch, entropy, null]), toBase64(wantBeacon));
    }
    await assert.rejects(
      lotus('StateGetRandomnessFromTickets', [5, svc.node.head.height + 1, entropy, null]),
      /future/,
    );
  });

  test('ChainNotify sends the current head, then each applied tipset', async () => {
    const full = createClient(FullNodeAPI, { url: svc.url('v1', 'ws'), token: svc.token });
    const sub = await full.ChainNotify();
    const it = sub[Symbol.asyncIterator]();
    const first = (await it.next()).value!;
    assert.equal(first[0]!.Type, 'current');
    const h = svc.node.head.height;
    await svc.node.mine();
    const second = (await it.next()).value!;
    assert.equal(second[0]!.Type, 'apply');
    assert.equal(second[0]!.Val.Height, h + 1);
    sub.cancel();
    await full.close();
  });

  test('the messager fills, the registered wallet signs, and a transfer and CreateMiner land', async () => {
    const signed: string[] = [];
    const wallet = startWallet(signed);
    await wallet.ready;
    const infos = await wallet.gw.ListWalletInfo();
    assert.equal(infos[0]!.ConnectStates[0]!.Addrs.length, 3);

    const msgr = createClient(MessagerAPI, { url: svc.url('v0', 'ws'), token: svc.token });
    const [owner, worker, secp] = keys.map((k) => addressOf(k.type, k.privateKey));
    const transfer = messageToJSON(newMessage({ from: secp!, to: owner!, value: 10n ** 18n }));
    const id1 = await msgr.PushMessageWithId('transfer-1', transfer, null);
    assert.equal(id1, 'transfer-1');
    assert.equal(await msgr.PushMessageWithId('transfer-1', transfer, null), 'transfer-1');
    assert.equal(await msgr.HasMessageByUid('transfer-1'), true);

    const create = messageToJSON(
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
    );
    const id2 = await msgr.PushMessage(create, {
      expireEpoch: 0,
      gasOverEstimation: 1.25,
      maxFee: '0',
      gasOverPremium: 0,
    });
    await svc.messager.idle();
    const filled = await msgr.GetMessageByUid(id2);
    assert.equal(filled.State, 2, filled.ErrorMsg); // FillMsg
    assert.ok(filled.GasLimit > 0);
    assert.equal(signed.length, 2);

    const waiting = msgr.WaitMessage(id2, 1);
    for (let i = 0; i < 5; i++) await svc.node.mine();
    const done = await waiting;
    assert.equal(done.State, 3); // OnChainMsg
    assert.equal(done.Receipt!.ExitCode, 0);
    assert.ok(done.Confidence > 1);
    const ret = decodeCreateMinerReturn(fromBase64(done.Receipt!.Return!));
    const t1 = await msgr.GetMessageByUid('transfer-1');
    assert.equal(t1.State, 3);
    assert.equal(t1.Receipt!.ExitCode, 0);

    // the miner through the independent client
    const maddr = ret.idAddress.toString();
    const info = (await lotus('StateMinerInfo', [maddr, null])) as {
      Owner: string;
      Worker: string;
      SectorSize: number;
    };
    assert.equal(info.Owner, (await lotus('StateLookupID', [owner!.toString(), null])) as string);
    assert.equal(info.Worker, (await lotus('StateLookupID', [worker!.toString(), null])) as string);
    assert.equal(info.SectorSize, 2048);
    const dl = (await lotus('StateMinerProvingDeadline', [maddr, null])) as {
      CurrentEpoch: number;
      Index: number;
      Open: number;
      Close: number;
      WPoStProvingPeriod: number;
    };
    assert.equal(dl.CurrentEpoch, svc.node.head.height);
    assert.equal(dl.WPoStProvingPeriod, 80);
    assert.ok(dl.Open <= dl.CurrentEpoch && dl.CurrentEpoch < dl.Close);
    assert.equal(dl.Close - dl.Open, 20);
    assert.equal(parseAddress(maddr).id() >= 1000, true);
    await msgr.close();
    await wallet.gw.close();
  });

  test('a message the chain would refuse becomes FailedMsg with the reason', async () => {
    const msgr = createClient(MessagerAPI, { url: svc.url('v0'), token: svc.token });
    const [owner] = keys.map((k) => addressOf(k.type, k.privateKey));
    // CreateMiner without the deposit: estimation fails with ErrInsufficientFunds
    const bad = messageToJSON(
      newMessage({
        from: owner!,
        to: idAddress(4),
        method: 2,
        params: encodeCreateMinerParams({
          owner: owner!,
          worker: owner!,
          windowPoStProofType: 10,
          peer: new Uint8Array(0),
          multiaddrs: [],
        }),
      }),
    );
    const signed: string[] = [];
    const wallet = startWallet(signed);
    await wallet.ready;
    const id = await msgr.PushMessage(bad, null);
    for (let i = 0; i < 3; i++) {
      await svc.node.mine();
      await svc.messager.idle();
    }
    const rec = await msgr.WaitMessage(id, 0);
    assert.equal(rec.State, 4);
    assert.match(rec.ErrorMsg, /exit .*\(1[69]\)/);
    await wallet.gw.close();
  });

  test('a restart keeps height, state and messager records', async () => {
    const h = svc.node.head.height;
    const before = (await lotus('WalletBalance', ['t01000'])) as string;
    assert.notEqual(before, '0');
    await svc.stop();
    svc = await DevnetService.start({ home: dir, autoMine: false, verifier: new AcceptingVerifier() });
    assert.equal(svc.node.head.height, h);
    assert.equal(await lotus('WalletBalance', ['t01000']), before);
    const msgr = createClient(MessagerAPI, { url: svc.url('v0'), token: svc.token });
    assert.equal((await msgr.GetMessageByUid('transfer-1')).State, 3);
    assert.match(readFileSync(join(dir, 'snippets.toml'), 'utf8'), /\[APIRegisterHub\]/);
    await svc.node.mine();
    assert.equal(svc.node.head.height, h + 1);
  });
});
