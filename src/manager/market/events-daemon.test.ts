// The daemon with a miner taking deals: it listens for market events and serves an unseal end to end over its API.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManagerAPI } from '../../api/sealer.js';
import { createClient, createToken } from '../../rpc/index.js';
import { managerHome } from '../harness.test-util.js';
import { addSealedSector } from '../unseal/fixture.test-util.js';
import { EventMarket, state, unsealEvent, until } from './events.test-util.js';

test('daemon run: market events for a miner with EnableDeals → unseal task → worker API → the market hears "finished"', async () => {
  const market = new EventMarket();
  await market.start();
  const marketToken = await createToken(market.secret, 'write', { name: 'vsm' });
  const h = managerHome('vsm-unseal-daemon-', { insecureNoAuth: false });
  const file = join(h.home, 'sector-manager.cfg');
  writeFileSync(
    file,
    readFileSync(file, 'utf8')
      .replace('ID = 1000\n', 'ID = 1000\nEnableDeals = true\n')
      .replace(
        '[DealManagerConfig]\n',
        `[DealManagerConfig]\n[DealManagerConfig.MarketAPI]\nApi = "/ip4/127.0.0.1/tcp/${market.port}/http"\nToken = "${marketToken}"\n`,
      ),
  );
  const d = await h.start();
  try {
    await until('the subscription', () => market.subs.some((s) => /^[ft]01000$/.test(s.miner) && !s.ch.closed), 10_000);
    const { b, sid } = addSealedSector(d.store, 7);
    market.send(
      unsealEvent('e-unknown', {
        PieceCid: { '/': b },
        Miner: 't01000',
        Sid: 99,
        Offset: 0,
        Size: 1016,
        Dest: 'file:///x',
      }),
    );
    assert.match((await market.response('e-unknown')).Error, /s-t01000-99 is unknown/);

    market.send(
      unsealEvent('e-1', {
        PieceCid: { '/': b },
        Miner: 't01000',
        Sid: 7,
        Offset: 1016,
        Size: 1016,
        Dest: `market://pieces/${b}`,
      }),
    );
    const api = createClient(ManagerAPI, {
      url: `http://127.0.0.1:${d.address.port}/rpc/v0`,
      token: readFileSync(join(h.home, 'worker-token'), 'utf8').trim(),
    });
    let info = null;
    for (let i = 0; i < 100 && !info; i++) {
      info = await api.AllocateUnsealSector({ AllowedMiners: [1000], AllowedProofTypes: null });
      if (!info) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(info, 'the worker got the task');
    assert.equal(info.PrivateInfo.AccessInstance, 'store-1');
    const [dest] = (await api.AcquireUnsealDest(sid, { '/': b })) ?? [];
    const u = new URL(dest!);
    assert.equal(u.searchParams.get('host'), `127.0.0.1:${market.port}`);
    assert.equal(u.searchParams.get('token'), marketToken, "the market's token from [DealManagerConfig.MarketAPI]");
    await api.AchieveUnsealSector(sid, { '/': b }, '');
    const r = await market.response('e-1');
    assert.equal(r.Error, '');
    assert.equal(state(r), 'finished');
    const metrics = await fetch(`http://127.0.0.1:${d.address.port}/metrics`).then((x) => x.text());
    assert.match(metrics, /venus_unseal_tasks\{state="finished"[^}]*\} 1/);
    assert.match(metrics, /venus_market_events_total\{method="SectorsUnsealPiece",result="ok"[^}]*\} 1/);
    // the dashboard lists it
    const admin = readFileSync(join(h.home, 'token'), 'utf8').trim();
    const dash = await fetch(`http://127.0.0.1:${d.address.port}/dashboard/api/state`, {
      headers: { Authorization: `Bearer ${admin}` },
    }).then((x) => x.json() as Promise<{ unseals: { state: string; piece: string }[]; deals: unknown[] }>);
    assert.deepEqual(
      dash.unseals.map((t) => [t.state, t.piece]),
      [['finished', b]],
    );
    assert.equal(dash.deals.length, 2);
    await api.close();
  } finally {
    await d.close();
    await market.server.close();
  }
});
