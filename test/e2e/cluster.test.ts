// `npm start`, shortened: the one-command cluster with the real programs (devnet, wallet, sector-manager with its
// Window PoSt in an ext-prover process, worker with two seal stores and external pc2/c2) seals two 2KiB sectors
// on a fast devnet clock, while headless Chromium (Debian's `chromium`, driven by playwright-core) watches the
// sector-manager's dashboard: the worker's threads and the sectors appear, states change without a reload, the
// miner gets power and a Window PoSt lands; the admin token's pause/resume buttons reach the real worker; a read
// token shows no buttons (phone-sized); a screenshot goes to docs/dashboard.png. Then Ctrl-C (SIGINT) stops
// every program, and the chain state is checked with the devnet alone (`venus-devnet status --json`), not with
// the runner's word, the dashboard or the logs.
// Without Chromium the same waits run on the dashboard's JSON and the browser checks are reported as skipped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DashboardState } from '../../src/manager/dashboard/index.js';
import { createToken, loadOrInitRepoAuth } from '../../src/rpc/index.js';
import { cli, e2eProcesses, root } from './cluster-harness.js';
import { managerUp, managerUtil, readClusterState, startCluster } from './cluster-run.js';
import type { DashboardWindow } from './dashboard-page.js';

/** Debian's chromium; CHROMIUM_PATH overrides (e.g. to check the fallback). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const { home, start, run, track } = e2eProcesses('cluster-e2e-');

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('npm start (shortened): two 2KiB sectors sealed and proven by Window PoSt, watched live on the dashboard, Ctrl-C stops all', {
  timeout: 9 * 60_000,
}, async (t) => {
  const t0 = Date.now();
  const cluster = startCluster(start, home, ['--sectors', '2'], { pollMs: 250 });
  const { output, tail, until } = cluster;

  // the manager is up once the runner has written its port and the manager its token and a health check passes
  const {
    port: managerPort,
    url: base,
    token: admin,
  } = await until('the sector-manager', 5 * 60_000, () => managerUp(home));
  const dashboard = async () => {
    const r = await fetch(`${base}/dashboard/api/state`, { headers: { Authorization: `Bearer ${admin}` } });
    if (r.status !== 200) throw new Error(`dashboard: HTTP ${r.status}`); // polled: not yet
    return (await r.json()) as DashboardState;
  };
  assert.equal((await fetch(`${base}/dashboard/api/state`)).status, 401, 'the JSON needs a token');
  // daemon run --require-token: the worker API too (the worker signs in with the write token in its config)
  const rpc = (headers: Record<string, string>) =>
    fetch(`${base}/rpc/v0`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'Venus.WorkerPingInfoList', params: [] }),
    });
  assert.equal((await rpc({})).status, 401, 'Venus.* without a token');
  assert.equal((await rpc({ Authorization: `Bearer ${admin}` })).status, 200);
  // the runner prints a read-only link once it has seen the manager up (a moment after the health check passes)
  await until('the dashboard link', 30_000, async () =>
    /dashboard: http:\/\/127\.0\.0\.1:\d+\/\?token=\S+ \(read-only/.test(output()),
  );

  const browserSkip = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install -y chromium)`;
  const { chromium } = await import('playwright-core');
  const userDir = mkdtempSync(join(tmpdir(), 'cluster-chromium-'));
  const browser = browserSkip
    ? undefined
    : await chromium.launchPersistentContext(userDir, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1200, height: 900 },
        // waitForFunction evaluates its predicate as a string, which the dashboard's CSP forbids (no 'unsafe-eval');
        // the page under its real CSP is src/manager/dashboard/browser.test.ts
        bypassCSP: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
  try {
    const page = browser ? await browser.newPage() : undefined;
    await page?.goto(`${base}/?token=${encodeURIComponent(admin)}`);
    await page?.evaluate(() => {
      (globalThis as unknown as DashboardWindow).__loaded = 'this page';
    });

    // the worker's sealing threads (two sealer, one rebuild) and the sectors appear as the worker starts and takes them
    await until('three worker threads', 3 * 60_000, async () => (await dashboard()).workers[0]?.threads?.length === 3);
    const first = await until('a sector', 60_000, async () => (await dashboard()).sectors[0]);
    if (page) {
      await page.locator('tr[data-thread]').nth(1).waitFor({ timeout: 20_000 });
      assert.equal(await page.locator('tr[data-thread]').count(), 3);
      await page.locator(`tr[data-sector="${first.id}"] td.state`).waitFor({ timeout: 20_000 });
      // a state change shows up on the same page, without a reload (Server-Sent Events)
      const seen = await page.locator(`tr[data-sector="${first.id}"] td.state`).textContent();
      const updates = await page.evaluate(() => (globalThis as unknown as DashboardWindow).__updates ?? 0);
      await page.waitForFunction(
        ([id, before]) => {
          const now = (globalThis as unknown as DashboardWindow).document.querySelector(
            `tr[data-sector="${id}"] td.state`,
          )?.textContent;
          return now !== undefined && now !== before;
        },
        [first.id, seen] as const,
        { timeout: 60_000 },
      );
      assert.ok(
        (await page.evaluate(() => (globalThis as unknown as DashboardWindow).__updates ?? 0)) > updates,
        'redrawn from the event stream',
      );
      assert.equal(await page.evaluate(() => (globalThis as unknown as DashboardWindow).__loaded), 'this page');
    }

    // the operator's CLI signs in with the repo's token by itself
    const util = managerUtil(run, home, managerPort, 20_000);
    await until('the worker in `util worker list`', 3 * 60_000, async () => {
      const r = await util('worker', 'list');
      if (r.code !== 0) throw new Error(r.out); // polled: not yet
      return r.out.includes('cluster-worker');
    });

    // both sectors sealed and finalized, the miner has their power, and Window PoSt has proven them (active)
    const done = await until('power and a landed Window PoSt for both sectors', 6 * 60_000, async () => {
      const s = await dashboard();
      const ok =
        s.counts.Finalized === 2 &&
        s.miners[0]?.rawPower === '4096' &&
        s.posts.some((p) => p.ok) &&
        s.deadlines.flatMap((d) => d.partitions).reduce((a, p) => a + p.active, 0) === 2;
      return ok ? s : undefined;
    });
    const seconds = (Date.now() - t0) / 1000;
    process.stdout.write(`# cluster: 2 sectors sealed and proven in ${seconds.toFixed(0)} s\n`);
    // each sector's timeline, as the manager recorded it, runs from allocation through the messages to finalize
    for (const s of done.sectors) {
      const states = s.timeline.map((x) => x.state);
      assert.equal(states[0], 'Allocated', s.id);
      assert.equal(states.at(-1), 'Finalized', s.id);
      for (const want of ['PreCommitSent', 'ProveCommitSent'])
        assert.ok(states.includes(want), `${s.id}: ${want} in ${states}`);
      assert.ok(states.length >= 8, `${s.id}: ${states}`);
    }

    if (page && browser) {
      await page.waitForFunction(
        () =>
          (globalThis as unknown as DashboardWindow).document.querySelector('tr[data-post] td')?.textContent ===
          'landed',
        undefined,
        {
          timeout: 20_000,
        },
      );
      await page.waitForFunction(
        () =>
          (globalThis as unknown as DashboardWindow).document.querySelector('tr[data-miner] td:nth-child(3)')
            ?.textContent === '4.0 KiB',
        undefined,
        { timeout: 20_000 },
      );
      assert.match((await page.locator('#counts').textContent()) ?? '', /Finalized: 2/);
      assert.match(
        (await page.locator(`tr[data-sector="${first.id}"] .tl`).textContent()) ?? '',
        /Allocated[\s\S]*PreCommitSent[\s\S]*Finalized/,
      );
      mkdirSync(join(root, 'docs'), { recursive: true });
      await page.screenshot({ path: join(root, 'docs/dashboard.png'), fullPage: true });

      // the admin token's buttons pause and resume a real sealing thread through the worker's control API
      const row = page.locator('tr[data-thread$="/1"]');
      await row.locator('button[data-a="pause"]').click();
      await page.waitForFunction(
        () =>
          (globalThis as unknown as DashboardWindow).document.querySelector('tr[data-thread$="/1"] td:nth-child(2)')
            ?.textContent === 'Paused',
        undefined,
        { timeout: 20_000 },
      );
      await row.locator('button[data-a="resume"]').click();
      await page.waitForFunction(
        () =>
          (globalThis as unknown as DashboardWindow).document.querySelector('tr[data-thread$="/1"] td:nth-child(2)')
            ?.textContent !== 'Paused',
        undefined,
        { timeout: 20_000 },
      );

      // a read token: the data, no buttons, and the control endpoint refuses it; the page fits a phone
      const { secret } = await loadOrInitRepoAuth(join(home, 'manager'));
      const read = await createToken(secret, 'read');
      const res = await fetch(`${base}/dashboard/api/worker?token=${read}`, {
        method: 'POST',
        body: JSON.stringify({ worker: done.workers[0]?.name, index: 0, action: 'pause' }),
      });
      assert.equal(res.status, 403);
      const phone = await browser.newPage();
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(`${base}/?token=${encodeURIComponent(read)}`);
      await phone.locator('tr[data-thread]').nth(1).waitFor({ timeout: 20_000 });
      assert.equal(await phone.locator('button[data-a]').count(), 0);
      const width = await phone.evaluate(() => (globalThis as unknown as DashboardWindow).document.body.scrollWidth);
      assert.ok(width <= 390, `no sideways scrolling on a phone (body ${width}px wide)`);
      await phone.close();
    } else {
      t.diagnostic(`browser checks skipped: ${browserSkip}`);
    }
  } finally {
    await browser?.close();
    rmSync(userDir, { recursive: true, force: true });
  }

  // Ctrl-C: every program stops, the runner exits 0
  assert.equal(await cluster.stop(), 0, tail());
  assert.match(output(), /SIGINT: stopping every program/);

  // every program had its own log, and nothing is left running
  const state = readClusterState(home);
  for (const p of ['devnet', 'wallet', 'manager', 'worker']) {
    assert.ok(existsSync(join(home, 'logs', `${p}.log`)), p);
  }
  // Window PoSt was computed by the ext-prover's processor (venus-worker processor window_post), not in-process
  const managerLog = readFileSync(join(home, 'logs', 'manager.log'), 'utf8');
  assert.match(managerLog, /ext-prover ready \(window_post\)/);
  assert.match(managerLog, /window post from the ext-prover/);
  for (const port of Object.values(state.ports)) assert.equal(await listening(port), false, `port ${port}`);
  // the sealed sectors sit in the remote store
  for (const n of [1, 2]) {
    assert.ok(existsSync(join(home, 'remote', 'sealed', `s-${state.miner}-${n}`)), `sector ${n} in the remote store`);
  }

  // the chain, read back by the devnet alone after a restart
  const devnet = spawn(process.execPath, [cli('venus-devnet'), '--home', join(home, 'devnet'), 'run'], {
    stdio: 'ignore',
  });
  track(devnet);
  let status:
    | {
        Miners: {
          Miner: string;
          Sectors: { Active: number };
          LastWindowPoStEpoch: number | null;
          RawBytePower: string;
        }[];
      }
    | undefined;
  for (let i = 0; i < 100 && !status; i++) {
    const s = await run([cli('venus-devnet'), '--home', join(home, 'devnet'), 'status', '--json'], 20_000);
    if (s.code === 0) status = JSON.parse(s.out.slice(s.out.indexOf('{')));
    else await sleep(200);
  }
  devnet.kill('SIGTERM');
  assert.ok(status, 'venus-devnet status --json');
  const miner = status.Miners.find((m) => m.Miner === state.miner);
  assert.ok(miner, `miner ${state.miner} on chain`);
  assert.equal(miner.Sectors.Active, 2);
  assert.notEqual(miner.LastWindowPoStEpoch, null);
  assert.equal(miner.RawBytePower, '4096');
});
