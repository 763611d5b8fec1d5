import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { setupLogging } from '../common/log.js';
import { RpcError } from '../rpc/index.js';
import { parseManagerConfig } from './config.js';
import { ManagerStore } from './db.js';
import { openTestDb } from './sql/pg.test-util.js';
import { formatStoreList, PersistStores, storesFromConfig, UnknownPersistStores } from './stores.js';

const dir = mkdtempSync(join(tmpdir(), 'vsm-stores-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function stores(cfgText: string): PersistStores {
  const cfg = parseManagerConfig('sector-manager.cfg', cfgText);
  return new PersistStores(storesFromConfig(cfg), new ManagerStore(openTestDb(join(dir, `m${n++}.db`))));
}

function persistDir(name: string): string {
  const p = join(dir, name);
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, '.holder'), '');
  return p;
}

const sid = (number: number) => ({ Miner: 1005, Number: number });

test("a worker's store named after its path (the guide's [remote] path only) matches the store at that Path", () => {
  const persist = persistDir('persist');
  const link = join(dir, 'persist-link');
  symlinkSync(persist, link);
  const s = stores(`[[PersistedStore.Stores]]\nName = "store-f01005"\nPath = "${persist}"\n`);
  assert.equal(s.find('store-f01005')?.name, 'store-f01005', 'by Name');
  assert.equal(s.find(persist)?.name, 'store-f01005', 'by Path');
  assert.equal(s.find(`${persist}/`)?.name, 'store-f01005', 'the same path spelled with a slash');
  assert.equal(s.find(link)?.name, 'store-f01005', 'the same directory through a symlink');
  assert.equal(s.find('persist'), undefined, 'a bare name is a name, not a relative path');
  const r = s.reserve(sid(1), 4096, [persist]);
  assert.equal(r?.Name, 'store-f01005');
  assert.equal(r?.Path, persist);
  // by name as well, and the same answer again for the same sector
  assert.equal(s.reserve(sid(2), 4096, ['store-f01005'])?.Name, 'store-f01005');
  assert.deepEqual(s.reserve(sid(1), 4096, [persist]), r);
});

test('an offer matching no store is refused with the stores known and both config keys, warned once', () => {
  const persist = persistDir('persist-b');
  const s = stores(`[[PersistedStore.Stores]]\nName = "store-f01005"\nPath = "${persist}"\n`);
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => lines.push(c.toString()));
  setupLogging({ levelSpec: 'warn', format: 'text', dest: sink });
  let err: unknown;
  try {
    for (let i = 0; i < 3; i++) {
      try {
        s.reserve(sid(1), 4096, ['/x/persist']);
        assert.fail('reserved');
      } catch (e) {
        err = e;
      }
    }
  } finally {
    setupLogging({ levelSpec: 'info', dest: process.stderr });
  }
  assert.ok(err instanceof UnknownPersistStores && err instanceof RpcError, String(err));
  assert.equal(
    (err as Error).message,
    `the worker offers persist stores ["/x/persist"]; configured: ["store-f01005" at ${persist}]; ` +
      `set [remote] name = "store-f01005" (or [[attached]] name) in the worker's config, ` +
      `or [[PersistedStore.Stores]] Path = "/x/persist" in sector-manager.cfg`,
  );
  assert.equal(lines.filter((l) => l.includes('the worker offers persist stores')).length, 1, lines.join(''));
  // nothing configured at all
  const none = stores('');
  assert.throws(
    () => none.reserve(sid(1), 4096, ['store-x']),
    /configured: none; add a \[\[PersistedStore\.Stores\]\] entry with Name = "store-x"/,
  );
});

test('read-only stores are refused with the key; no room is null (a wait), not an error', () => {
  const ro = persistDir('ro');
  const s = stores(`[[PersistedStore.Stores]]\nName = "ro"\nPath = "${ro}"\nReadOnly = true\n`);
  assert.throws(
    () => s.reserve(sid(1), 4096, ['ro']),
    /read-only here \(\[\[PersistedStore\.Stores\]\] ReadOnly = true/,
  );
  const rw = persistDir('rw');
  const t = stores(`[[PersistedStore.Stores]]\nName = "rw"\nPath = "${rw}"\n`);
  assert.equal(t.reserve(sid(1), Number.MAX_SAFE_INTEGER, ['rw']), null);
  assert.equal(t.reserve(sid(1), Number.MAX_SAFE_INTEGER, null), null);
});

test('util storage list explains a missing or unformatted store instead of Total: 0', () => {
  const ok = persistDir('ok');
  const bare = join(dir, 'bare');
  mkdirSync(bare);
  const missing = join(dir, 'missing');
  const s = stores(
    `[[PersistedStore.Stores]]\nName = "ok"\nPath = "${ok}"\n` +
      `[[PersistedStore.Stores]]\nName = "bare"\nPath = "${bare}"\n` +
      `[[PersistedStore.Stores]]\nName = "missing"\nPath = "${missing}"\n`,
  );
  const list = s.detailed();
  assert.deepEqual(list[0]!.Meta, {});
  assert.match(list[1]!.Meta!.Problem!, /^not formatted \(no \.holder\): run "venus-worker store file-init -l .*bare"/);
  assert.match(list[2]!.Meta!.Problem!, /^path missing or unreadable \(ENOENT\): create and format it/);
  const text = formatStoreList(list);
  assert.match(text, /^ok:\n {2}Path: .*\n {2}Type: filesystem .*\n {2}Total: \d+ {2}Free: \d+/);
  assert.match(text, /bare:\n {2}Path: .*\n {2}Type: .*\n {2}Problem: not formatted/);
  assert.match(text, /missing:\n {2}Path: .*\n {2}Type: .*\n {2}Problem: path missing/);
  assert.equal(text.match(/Total:/g)?.length, 1);
  assert.equal(formatStoreList([]), 'no persist store configured ([[PersistedStore.Stores]])\n');
});
