/** The worker's deal keys (docs/deals-worker.md): where they live, both spellings, and plan = "unseal". */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWorkerConfig } from './config.js';

const HEAD = `
[sector_manager]
rpc_client.addr = "/ip4/127.0.0.1/tcp/1789"
rpc_client.headers = { Authorization = "Bearer w" }
`;

test('deal keys where damocles has them: [worker] local_pieces_dirs, [sector_manager] piece_token, [sealing] enable_deals', () => {
  const c = parseWorkerConfig(
    'w.toml',
    `${HEAD}piece_token = "ptok"
[worker]
local_pieces_dirs = ["/p1", "p2"]
[sealing]
enable_deals = true
[[sealing_thread]]
location = "/s1"
[[sealing_thread]]
location = "/s2"
plan = "unseal"
sealing.enable_deals = false
`,
    '/base',
  );
  assert.deepEqual(c.localPiecesDirs, ['/p1', '/base/p2']);
  assert.equal(c.sectorManager.pieceToken, 'ptok');
  assert.deepEqual(c.sectorManager.headers, { Authorization: 'Bearer w' });
  assert.deepEqual(
    c.threads.map((t) => [t.plan, t.sealing.enableDeals]),
    [
      ['sealer', true],
      ['unseal', false],
    ],
  );
});

test('the guide spelling: [piece_store] token, [[store]] threads seal', () => {
  const c = parseWorkerConfig(
    'w.toml',
    `[sealer_rpc]
url = "ws://127.0.0.1:1789/rpc/v0"
[piece_store]
token = "legacy"
[[store]]
location = "/s"
`,
  );
  assert.equal(c.sectorManager.pieceToken, 'legacy');
  assert.equal(c.threads[0]!.plan, 'sealer');
});

test('deal keys are validated like the others', () => {
  const msg = (text: string) => {
    try {
      parseWorkerConfig('w.toml', text, '/base');
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.match(
    msg(`${HEAD}[worker]\nlocal_pieces_dir = "/a"\nlocal_pieces_dirs = ["/b"]\n[[sealing_thread]]\nlocation = "/s"\n`),
    /worker\.local_pieces_dir and worker\.local_pieces_dirs are two spellings/,
  );
  assert.match(
    msg(`${HEAD}[worker]\nlocal_pieces_dirs = ["/a", "/a"]\n[[sealing_thread]]\nlocation = "/s"\n`),
    /listed twice/,
  );
  assert.match(msg(`${HEAD}piece_token = ""\n[[sealing_thread]]\nlocation = "/s"\n`), /piece_token/);
  assert.match(
    msg(`${HEAD}piece_token = "a"\n[piece_store]\ntoken = "b"\n[[sealing_thread]]\nlocation = "/s"\n`),
    /piece_store\.token and sector_manager\.piece_token are two spellings/,
  );
  assert.match(msg(`${HEAD}[sealing]\nenable_deals = "yes"\n[[sealing_thread]]\nlocation = "/s"\n`), /enable_deals/);
  assert.match(
    msg(`${HEAD}[worker]\nlocal_pieces_dirs = "/a"\n[[sealing_thread]]\nlocation = "/s"\n`),
    /local_pieces_dirs/,
  );
  assert.match(
    msg(`${HEAD}[[sealing_thread]]\nlocation = "/s"\nplan = "wdpost"\n`),
    /plan: "wdpost" is not supported by this build \(one of sealer, unseal, rebuild, snapup\)/,
  );
  assert.match(msg(`${HEAD}[[sealing_thread]]\nlocation = "/s"\n[[processors.unseal]]\n`), /unseal = N/);
  assert.match(
    msg(`${HEAD}[[sealing_thread]]\nlocation = "/s"\n[processors.limitation.concurrent]\nunseal = 1\n`),
    /accepted/,
  );
});
