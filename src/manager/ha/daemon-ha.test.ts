// Two `daemon run --poster` on one home (one database) and one chain, in-process: the first takes every duty and
// the second stands by, both serve the worker API and say so on the dashboard; a PreCommit given to the standby is
// sent by the holder; a graceful stop of the holder hands every duty to the other within a renewal period.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManagerAPI, SubmitResult } from '../../api/sealer.js';
import { createClient } from '../../rpc/index.js';
import type { Daemon } from '../daemon.js';
import { managerHome, preCommitInfoFor } from '../harness.test-util.js';

const TTL = 1500;

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('two managers on one database: one holds the duties, the other serves workers and takes over', async () => {
  const h = managerHome('vsm-ha-daemon-', { poster: true, insecureNoAuth: false });
  const { home, chain } = h;
  const start = (name: string) => h.start({ ha: { name, ttlMs: TTL } });
  const a = await start('manager-a');
  let aOpen = true;
  let b: Daemon | undefined;
  try {
    b = await start('manager-b');
    assert.deepEqual(
      a.duties.snapshot().map((d) => [d.duty, d.holder, d.mine]),
      [
        ['post', 'manager-a', true],
        ['commit', 'manager-a', true],
        ['chain', 'manager-a', true],
      ],
    );
    const admin = readFileSync(join(home, 'token'), 'utf8').trim();
    const state = await fetch(`http://127.0.0.1:${b.address.port}/dashboard/api/state`, {
      headers: { Authorization: `Bearer ${admin}` },
    }).then((r) => r.json() as Promise<{ duties: { duty: string; holder: string; mine: boolean }[] }>);
    assert.deepEqual(
      state.duties.map((d) => [d.duty, d.holder, d.mine]),
      [
        ['post', 'manager-a', false],
        ['commit', 'manager-a', false],
        ['chain', 'manager-a', false],
      ],
    );

    // a worker talks to the standby: the sector number comes from the one database, the holder sends its PreCommit
    const worker = readFileSync(join(home, 'worker-token'), 'utf8');
    const api = createClient(ManagerAPI, { url: `http://127.0.0.1:${b.address.port}/rpc/v0`, token: worker });
    const s = (await api.AllocateSector({ AllowedMiners: null, AllowedProofTypes: null }))!;
    const ticket = await api.AssignTicket(s.ID);
    const r = await api.SubmitPreCommit(s, preCommitInfoFor(s.ID, ticket), false);
    assert.equal(r.Res, SubmitResult.Accepted);
    await until('the holder to send the PreCommit', () => chain.pushed.length === 1);
    const rec = a.store.getSector(s.ID)!.state.MessageInfo;
    assert.equal(rec.NeedSend, false);
    assert.equal(rec.PreCommitCid?.['/'], chain.pushed[0]);
    await api.close();

    // the holder stops: the other holds every duty within a renewal period, under the next token
    const stopped = Date.now();
    aOpen = false;
    await a.close();
    await until('manager-b to take every duty', () =>
      ['post', 'commit', 'chain'].every((d) => b!.duties.holds(d as 'post')),
    );
    assert.ok(Date.now() - stopped < TTL, `taken over in ${Date.now() - stopped} ms`);
    assert.deepEqual(
      b.duties.snapshot().map((d) => [d.duty, d.holder, d.token, d.mine]),
      [
        ['post', 'manager-b', 2, true],
        ['commit', 'manager-b', 2, true],
        ['chain', 'manager-b', 2, true],
      ],
    );
    const metrics = await fetch(`http://127.0.0.1:${b.address.port}/metrics`).then((x) => x.text());
    assert.match(metrics, /venus_sector_manager_duty_held\{[^}]*duty="post"[^}]*\} 1/);
  } finally {
    await b?.close();
    if (aOpen) await a.close();
  }
});
