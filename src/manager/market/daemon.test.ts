import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ManagerAPI } from '../../api/sealer.js';
import { createClient } from '../../rpc/index.js';
import { dealRows, dealsCell } from '../cli/deals.js';
import { managerHome } from '../harness.test-util.js';
import { answer } from './deals.test-util.js';
import { FakeMarket } from './testkit.js';

const markets: FakeMarket[] = [];
after(async () => {
  for (const m of markets) await m.down();
});

/** A manager home whose miner 1000 takes deals from `market` with `token`. */
async function dealHome(market: FakeMarket, token: string) {
  const h = managerHome('vsm-deals-daemon-', { insecureNoAuth: false });
  const file = join(h.home, 'sector-manager.cfg');
  writeFileSync(
    file,
    readFileSync(file, 'utf8')
      .replace('ID = 1000\n', 'ID = 1000\nEnableDeals = true\n')
      .replace(
        '[DealManagerConfig]\n',
        `[DealManagerConfig]\n[DealManagerConfig.MarketAPI]\nApi = "${market.api}"\nToken = "${token}"\n`,
      ),
  );
  return h;
}

test('daemon run: a market token without write is reported at start, naming the key', async () => {
  const market = await new FakeMarket().start();
  markets.push(market);
  const h = await dealHome(market, await market.token('read'));
  await assert.rejects(h.start(), (e: Error) => {
    assert.equal(e.name, 'UserError');
    assert.match(e.message, /^cannot use the market at \/ip4\/127\.0\.0\.1\/tcp\/\d+\/http: the token lacks the write/);
    return true;
  });
});

test('daemon run: AcquireDeals over the API, deals in the sector list, /metrics and /piecestore', async () => {
  const market = await new FakeMarket().start();
  markets.push(market);
  const h = await dealHome(market, await market.token('write'));
  const d = await h.start();
  try {
    const token = readFileSync(join(h.home, 'worker-token'), 'utf8');
    const base = `http://127.0.0.1:${d.address.port}`;
    const api = createClient(ManagerAPI, { url: `${base}/rpc/v0`, token });
    const s = await api.AllocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    market.queue = answer();
    const pieces = await api.AcquireDeals(s!.ID, { MaxDeals: null, MinUsedSpace: null });
    assert.equal(pieces?.length, 3);
    const listed = (await api.ListSectors('online', 0))!.find((x) => x.ID.Number === s!.ID.Number)!;
    assert.equal(dealsCell(listed), 'a7,d12');
    assert.deepEqual(
      dealRows(listed).map((r) => r.slice(0, 3)),
      [
        ['#', 'Kind', 'Deal'],
        ['0', 'ddo', 'allocation 7'],
        ['1', 'pledge', '-'],
        ['2', 'market', 'deal 12'],
      ],
    );
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    assert.match(metrics, /venus_deals_assigned_total\{[^}]*kind="ddo"[^}]*\} 1/);
    assert.match(metrics, /venus_deals_assigned_total\{[^}]*kind="market"[^}]*\} 1/);
    assert.match(metrics, /venus_deals_release_pending\{[^}]*\} 0/);
    // the piece store: not local, so the market's /resource; and never without a token
    const cid = pieces![0]!.Piece.PieceCID['/'];
    const r = await fetch(`${base}/piecestore/${cid}`, {
      headers: { Authorization: `Bearer ${token}` },
      redirect: 'manual',
    });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), `http://127.0.0.1:${market.port}/resource?resource-id=${cid}`);
    assert.equal((await fetch(`${base}/piecestore/${cid}`, { redirect: 'manual' })).status, 401);
    // aborted: the deals go back to the market
    await api.ReportAborted(s!.ID, 'test abort');
    for (let i = 0; i < 100 && market.released.length + market.releasedDirect.length < 2; i++)
      await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual([market.released, market.releasedDirect], [[12], [7]]);
    await api.close();
  } finally {
    await d.close();
  }
});
