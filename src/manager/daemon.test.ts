import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManagerAPI } from '../api/sealer.js';
import { createClient, createToken, loadOrInitRepoAuth } from '../rpc/index.js';
import { initHome } from './config.js';
import { startDaemon } from './daemon.js';
import { managerHome } from './harness.test-util.js';
import { FakeChain, fakeVerifier } from './testkit.js';

test('daemon: serves Venus.* and /metrics, reloads the config on SIGHUP, keeps the old one when the new is bad', async () => {
  const home = mkdtempSync(join(tmpdir(), 'vsm-daemon-'));
  const { file } = initHome(home);
  const chain = new FakeChain();
  chain.addMiner(1000);
  const base = readFileSync(file, 'utf8').replace(
    '[SectorManager]\n',
    '[SectorManager]\n[[SectorManager.Miners]]\nID = 1000\n',
  );
  writeFileSync(file, base);
  const d = await startDaemon({
    home,
    listen: '127.0.0.1:0',
    poster: true,
    net: '2k',
    chain: chain.api(),
    messager: chain.messager(),
    verifier: fakeVerifier,
  });
  try {
    const token = readFileSync(join(home, 'worker-token'), 'utf8');
    const api = createClient(ManagerAPI, { url: `http://127.0.0.1:${d.address.port}/rpc/v0`, token });
    const s = await api.AllocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    assert.deepEqual(s?.ID, { Miner: 1000, Number: 1 });
    const metrics = await fetch(`http://127.0.0.1:${d.address.port}/metrics`).then((r) => r.text());
    assert.match(metrics, /venus_rpc_calls_total\{[^}]*method="Venus.AllocateSector"/);

    assert.equal(d.config().Commitment.DefaultPolicy.PreCommitBatchThreshold, 0);
    writeFileSync(
      file,
      `${base}\n[Commitment.DefaultPolicy]\nPreCommitBatchThreshold = 8\n`.replace('[Commitment]\n', ''),
    );
    process.emit('SIGHUP');
    assert.equal(d.config().Commitment.DefaultPolicy.PreCommitBatchThreshold, 8, 'reloaded on SIGHUP');
    writeFileSync(file, `${base}\n[Chain]\nApi = "nonsense"\n`);
    assert.equal(d.reload(), false);
    assert.equal(d.config().Commitment.DefaultPolicy.PreCommitBatchThreshold, 8, 'bad file: previous config kept');
    await api.close();
  } finally {
    await d.close();
  }
});

test('daemon: a missing config says to run daemon init', async () => {
  const home = mkdtempSync(join(tmpdir(), 'vsm-daemon-'));
  await assert.rejects(
    startDaemon({ home, listen: '127.0.0.1:0', poster: false }),
    /sector-manager\.cfg not found: run `venus-sector-manager --home .* daemon init` first/,
  );
});

test('daemon: tokens by default (--require-token is a no-op): refuses calls without one, a write token for workers, read is not enough', async () => {
  const { home, start } = managerHome('vsm-daemon-auth-', { insecureNoAuth: false, requireToken: true });
  const d = await start();
  const url = `http://127.0.0.1:${d.address.port}/rpc/v0`;
  const { secret } = await loadOrInitRepoAuth(home);
  const spec = { AllowedMiners: null, AllowedProofTypes: null };
  const clients = [
    createClient(ManagerAPI, { url }),
    createClient(ManagerAPI, { url, token: await createToken(secret, 'read') }),
    createClient(ManagerAPI, { url, headers: { Authorization: `Bearer ${await createToken(secret, 'write')}` } }),
    createClient(ManagerAPI, { url, token: await createToken(new Uint8Array(32).fill(1), 'admin') }),
  ];
  const [anon, read, worker, forged] = clients;
  try {
    await assert.rejects(anon!.AllocateSector(spec), /missing token/);
    await assert.rejects(forged!.AllocateSector(spec), /signed with another secret/);
    await assert.rejects(read!.AllocateSector(spec), /permission|perm/i);
    assert.deepEqual((await worker!.AllocateSector(spec))?.ID, { Miner: 1000, Number: 1 });
    assert.equal((await read!.WorkerPingInfoList())?.length ?? 0, 0);
    // the dashboard page and /metrics stay open; the dashboard's data has its own token check
    assert.equal((await fetch(`http://127.0.0.1:${d.address.port}/metrics`)).status, 200);
  } finally {
    for (const c of clients) await c.close();
    await d.close();
  }
});
