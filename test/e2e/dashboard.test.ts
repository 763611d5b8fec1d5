/**
 * The sector-manager's dashboard in a real browser: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) loads http://<manager>/?token=… from a running manager daemon (startDaemon, over the
 * in-process chain of src/manager/testkit.ts so it starts in a second), with a worker that pinged and whose
 * control API (VenusWorker.*) answers. It checks that the sector and the worker's threads appear, that a state
 * change reported by the worker shows up without a reload (Server-Sent Events), that the admin token's pause
 * button reaches the worker, that the JSON needs a token, and saves docs/dashboard.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManagerAPI } from '../../src/api/sealer.js';
import { WorkerAPI, type WorkerThreadInfo } from '../../src/api/worker.js';
import { setupLogging } from '../../src/common/log.js';
import { initHome } from '../../src/manager/config.js';
import { startDaemon } from '../../src/manager/daemon.js';
import { FakeChain, fakeVerifier } from '../../src/manager/testkit.js';
import { createClient, createToken, RpcServer } from '../../src/rpc/index.js';

setupLogging({ levelSpec: process.env.E2E_LOG ?? 'silent' });

/** Debian's chromium; CHROMIUM_PATH overrides (e.g. to check the skip). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = new URL('../..', import.meta.url).pathname;

test('dashboard: sectors and threads appear, a state change shows up live, pause reaches the worker', {
  skip: existsSync(CHROMIUM)
    ? false
    : `${CHROMIUM} not found (apt-get install -y chromium); dashboard browser test skipped`,
  timeout: 60_000,
}, async () => {
  const { chromium } = await import('playwright-core');
  const home = mkdtempSync(join(tmpdir(), 'vsm-dash-'));
  const { file } = initHome(home);
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('[SectorManager]\n', '[SectorManager]\n[[SectorManager.Miners]]\nID = 1000\n'),
  );
  const chain = new FakeChain();
  chain.addMiner(1000);

  // the worker's control API, as venus-worker serves it: two threads, pause/resume change their state
  const threads: WorkerThreadInfo[] = [0, 1].map((index) => ({
    index,
    location: `/seal/store-${index}`,
    plan: 'sealer',
    job_id: null,
    job_state: 'Empty',
    job_stage: null,
    thread_state: { state: 'Idle', elapsed: 3, proc: null },
    last_error: null,
  }));
  const control = new RpcServer({ auth: null, paths: ['/', '/rpc/v0'] });
  const calls: string[] = [];
  control.register(WorkerAPI, {
    WorkerList: () => threads,
    WorkerPause: (i) => {
      calls.push(`pause ${i}`);
      const t = threads[i];
      if (!t) return false;
      t.thread_state = { state: 'Paused', elapsed: 0, proc: null };
      return true;
    },
    WorkerResume: (i) => {
      calls.push(`resume ${i}`);
      const t = threads[i];
      if (!t) return false;
      t.thread_state = { state: 'Running', elapsed: 0, proc: null };
      return true;
    },
    WorkerSetEnv: () => null,
    WorkerRemoveEnv: () => null,
    WorkerVersion: () => 'test',
  });
  const ctl = await control.listen('127.0.0.1:0');

  const d = await startDaemon({
    home,
    listen: '127.0.0.1:0',
    poster: false,
    net: '2k',
    chain: chain.api(),
    messager: chain.messager(),
    verifier: fakeVerifier,
  });
  const base = `http://127.0.0.1:${d.address.port}`;
  const api = createClient(ManagerAPI, { url: `${base}/rpc/v0` });
  const userDir = mkdtempSync(join(tmpdir(), 'vsm-chromium-'));
  // a fresh profile (playwright passes it as --user-data-dir)
  const browser = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    // a scripted worker: pings with its control address, takes a sector, reports its first state
    await api.WorkerPing({
      Name: 'worker-1',
      Dest: `127.0.0.1:${ctl.port}`,
      Version: 'test',
      Summary: { Threads: 2, Empty: 2, Paused: 0, Running: 0, Waiting: 0, Errors: 0 },
    });
    const s = await api.AllocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    assert.deepEqual(s?.ID, { Miner: 1000, Number: 1 });
    const worker = { Instance: 'worker-1', Location: '/seal/store-0' };
    await api.ReportState(s.ID, {
      Worker: worker,
      StateChange: { Prev: 'Empty', Next: 'Allocated', Event: 'SectorAllocated' },
      Failure: null,
    });
    threads[0] = { ...threads[0]!, job_id: 's-t01000-1', job_state: 'Allocated', job_stage: 'AcquireDeals' };

    // the JSON is behind the token
    assert.equal((await fetch(`${base}/dashboard/api/state`)).status, 401);
    const admin = readFileSync(join(home, 'token'), 'utf8').trim();
    const state = await fetch(`${base}/dashboard/api/state?token=${admin}`).then((r) => r.json());
    assert.equal(state.sectors[0].id, 's-t01000-1');

    const page = await browser.newPage();
    await page.goto(`${base}/?token=${encodeURIComponent(admin)}`);
    const sectorState = page.locator('tr[data-sector="s-t01000-1"] td.state');
    await sectorState.waitFor({ timeout: 10_000 });
    assert.match((await sectorState.textContent()) ?? '', /Allocated/);
    await page.locator('tr[data-thread="worker-1/0"]').waitFor({ timeout: 10_000 });
    assert.match((await page.locator('tr[data-thread="worker-1/0"]').textContent()) ?? '', /s-t01000-1/);
    assert.equal(await page.locator('tr[data-thread]').count(), 2);
    const updatesBefore = await page.evaluate(() => (window as unknown as { __updates: number }).__updates);

    // a state change shows up without a reload
    await api.ReportState(s.ID, {
      Worker: worker,
      StateChange: { Prev: 'Allocated', Next: 'DealsAcquired', Event: 'SectorDealsAcquired' },
      Failure: null,
    });
    await page.waitForFunction(
      () => document.querySelector('tr[data-sector="s-t01000-1"] td.state')?.textContent?.includes('DealsAcquired'),
      undefined,
      { timeout: 10_000 },
    );
    const after = await page.evaluate(() => (window as unknown as { __updates: number }).__updates);
    assert.ok(after > updatesBefore, 'redrawn from the event stream');
    assert.match(
      (await page.locator('tr[data-sector="s-t01000-1"] .tl').textContent()) ?? '',
      /Allocated[\s\S]*DealsAcquired/,
    );

    // the admin token's pause button reaches the worker's control API
    await page.locator('tr[data-thread="worker-1/1"] button[data-a="pause"]').click();
    await page.waitForFunction(
      () => document.querySelector('tr[data-thread="worker-1/1"]')?.textContent?.includes('Paused'),
      undefined,
      { timeout: 10_000 },
    );
    assert.deepEqual(calls, ['pause 1']);

    // a read token: data, no buttons; the control endpoint refuses it
    const { secret } = await import('../../src/rpc/index.js').then((m) => m.loadOrInitRepoAuth(home));
    const read = await createToken(secret, 'read');
    const res = await fetch(`${base}/dashboard/api/worker?token=${read}`, {
      method: 'POST',
      body: JSON.stringify({ worker: 'worker-1', index: 0, action: 'pause' }),
    });
    assert.equal(res.status, 403);
    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${base}/?token=${encodeURIComponent(read)}`);
    await phone.locator('tr[data-thread="worker-1/0"]').waitFor({ timeout: 10_000 });
    assert.equal(await phone.locator('button[data-a]').count(), 0);
    await phone.close();

    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'docs/dashboard.png'), fullPage: true });
  } finally {
    await browser.close();
    await api.close();
    await d.close();
    await control.close();
    rmSync(userDir, { recursive: true, force: true });
  }
});
