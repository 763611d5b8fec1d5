/**
 * [SignFilter] (the original's `sh -c Expr` with the request as JSON on stdin) and [SignRecorder] (the
 * `sign_record` table behind ListSignedRecord), on a real keystore and wallet.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setupLogging } from '../common/log.js';
import { encodeMessage, messageCid, newMessage, parseAddress, toBase64 } from '../fil/index.js';
import { KeyStore, WalletError } from './keystore.js';
import { SignFilter } from './sign-filter.js';
import { SignRecorder } from './sign-recorder.js';
import { Wallet } from './wallet.js';

setupLogging({ levelSpec: 'silent' });

const KDF = { scryptN: 1024, scryptP: 1 };
const MINER = parseAddress('t01001');

// The operator's policy, as the original's docs write it: only sealing methods of miner t01001.
const FILTER_JS = `
const m = JSON.parse(require('fs').readFileSync(0, 'utf8'));
if (m.SignType !== 'message') { process.stderr.write('only chain messages'); process.exit(1); }
if (m.Data.To.slice(1) !== '01001') { process.stderr.write('not our miner: ' + m.Data.To); process.exit(1); }
if (![5, 6, 7, 25, 26].includes(m.Data.Method)) { process.stderr.write('method ' + m.Data.Method + ' not allowed'); process.exit(1); }
`;

const opened: KeyStore[] = [];
after(() => {
  for (const ks of opened) ks.close();
});

/** A wallet whose filter is FILTER_JS run by node. */
async function setup(record = true) {
  const dir = mkdtempSync(join(tmpdir(), 'wfilter-'));
  const script = join(dir, 'filter.cjs');
  writeFileSync(script, FILTER_JS);
  const expr = `node ${script}`;
  const ks = new KeyStore(join(dir, 'keystore.sqlit'), KDF);
  opened.push(ks);
  const recorder = record ? new SignRecorder(ks.database, 168 * 3_600_000) : undefined;
  const w = new Wallet(ks, {
    network: 't',
    filter: new SignFilter({ expr, network: 't' }),
    ...(recorder ? { recorder } : {}),
  });
  await w.setPassword('pw');
  const from = await w.newKey('secp256k1');
  return { w, from, recorder };
}

function message(from: ReturnType<typeof parseAddress>, to: ReturnType<typeof parseAddress>, method: number) {
  const m = newMessage({ from, to, method, gasLimit: 1_000_000, gasFeeCap: 100n, gasPremium: 100n });
  return { extra: encodeMessage(m), cid: messageCid(m).bytes };
}

describe('[SignFilter]', () => {
  it("refuses what the operator's filter refuses, with its reason, and signs what it allows", async () => {
    const { w: fw, from: ffrom } = await setup(false);
    const ok = message(ffrom, MINER, 6);
    const sig = await fw.sign(ffrom, ok.cid, { type: 'message', extra: ok.extra });
    assert.equal(sig.data.length, 65);
    const send = message(ffrom, parseAddress('t1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba'), 0);
    await assert.rejects(
      fw.sign(ffrom, send.cid, { type: 'message', extra: send.extra }),
      (e: unknown) =>
        e instanceof WalletError &&
        e.reason === 'refused' &&
        /refused by \[SignFilter\].*not our miner: t1d2x/.test(e.message),
    );
    const withdraw = message(ffrom, MINER, 16);
    await assert.rejects(
      fw.sign(ffrom, withdraw.cid, { type: 'message', extra: withdraw.extra }),
      /method 16 not allowed/,
    );
    await assert.rejects(fw.sign(ffrom, new Uint8Array(32), { type: 'unknown' }), /only chain messages/);
  });

  it('a filter that hangs or cannot run refuses; no Expr allows everything', async () => {
    const slow = new SignFilter({ expr: 'sleep 5', timeoutMs: 200 });
    await assert.rejects(slow.check({ SignType: 'unknown', Data: '' }), /did not answer within 200 ms/);
    const broken = new SignFilter({ expr: 'exit 3' });
    await assert.rejects(broken.check({ SignType: 'unknown', Data: '' }), /refused by \[SignFilter\] Expr: exit 3/);
    const none = new SignFilter({ expr: '  ' });
    assert.equal(none.enabled, false);
    await none.check({ SignType: 'unknown', Data: '' });
    // the request reaches the filter as the original's JSON
    const seen = new SignFilter({ expr: `tr -d '\\n' | grep -q '"SignType": "unknown",  "Data": "AAEC"'` });
    await seen.check({ SignType: 'unknown', Data: toBase64(new Uint8Array([0, 1, 2])) });
  });
});

describe('[SignRecorder]', () => {
  it('records signed and refused requests; ListSignedRecord filters them', async () => {
    const { w, from: signer, recorder: rec } = await setup();
    const ok = message(signer, MINER, 7);
    const sig = await w.sign(signer, ok.cid, { type: 'message', extra: ok.extra });
    const bad = message(signer, MINER, 16);
    await w.sign(signer, bad.cid, { type: 'message', extra: bad.extra }).catch(() => {});
    const all = rec!.query({});
    assert.equal(all.length, 2);
    const [refused, signed] = all;
    assert.equal(signed!.Signer, w.format(signer));
    assert.equal(signed!.Type, 'message');
    assert.equal(signed!.Err, null);
    assert.equal(signed!.RawMsg, toBase64(ok.extra));
    assert.deepEqual(signed!.Signature, { Type: 1, Data: toBase64(sig.data) });
    assert.match(refused!.Err!, /method 16 not allowed/);
    assert.equal(refused!.Signature, null);
    assert.deepEqual(
      rec!.query({ IsError: true }).map((r) => r.ID),
      [refused!.ID],
    );
    assert.equal(rec!.query({ ID: signed!.ID })[0]!.ID, signed!.ID);
    assert.equal(rec!.query({ Signer: w.format(signer).replace(/^t/, 'f'), Limit: 1 }).length, 1);
    assert.equal(rec!.query({ Type: 'unknown' }).length, 0);
    assert.equal(rec!.query({ After: new Date(Date.now() + 60_000).toISOString() }).length, 0);
    assert.throws(() => rec!.query({ Limit: -1 }), /Limit must be a non-negative integer/);
    assert.throws(() => rec!.query({ After: 'yesterday' }), /After must be an RFC 3339 time/);
  });

  it('records older than KeepDuration are deleted', async () => {
    const ks = new KeyStore(join(mkdtempSync(join(tmpdir(), 'wrec-')), 'keystore.sqlit'), KDF);
    opened.push(ks);
    let t = Date.parse('2026-01-01T00:00:00Z');
    const rec = new SignRecorder(ks.database, 3_600_000, () => t);
    rec.record({ type: 'unknown', signer: 't1abc', rawMsg: new Uint8Array([1]) });
    t += 30 * 60_000;
    rec.record({ type: 'unknown', signer: 't1abc', rawMsg: new Uint8Array([2]) });
    t += 45 * 60_000;
    assert.equal(rec.prune(), 1);
    assert.equal(rec.query({}).length, 1);
    rec.close();
  });
});
