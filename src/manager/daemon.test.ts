import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManagerAPI } from '../api/sealer.js';
import { createClient } from '../rpc/index.js';
import { initHome } from './config.js';
import { startDaemon } from './daemon.js';
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
    const api = createClient(ManagerAPI, { url: `http://127.0.0.1:${d.address.port}/rpc/v0` });
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
