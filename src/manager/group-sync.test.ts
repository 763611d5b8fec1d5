import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManagerAPI } from '../api/sealer.js';
import type { ApiImpl } from '../rpc/index.js';
import { openDb } from './db.js';
import { durableApi, GroupSync, sqliteGroupSync } from './group-sync.js';
import { SqliteDb } from './sql/index.js';

/** A GroupSync over a change counter, whose fsyncs finish when the test says. */
function harness() {
  let changes = 0;
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const gs = new GroupSync({
    changes: () => changes,
    sync: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })),
  });
  return {
    gs,
    pending,
    write: () => {
      changes++;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('GroupSync: nothing written, nothing to wait for; calls answered together share one fsync', async () => {
  const h = harness();
  await h.gs.flush();
  assert.equal(h.pending.length, 0);
  h.write();
  h.write();
  let done = 0;
  const a = h.gs.flush().then(() => done++);
  const b = h.gs.flush().then(() => done++);
  await tick();
  assert.equal(h.pending.length, 1, 'one fsync for both');
  assert.equal(done, 0, 'no answer before the fsync');
  h.pending[0]!.resolve();
  await Promise.all([a, b]);
  assert.equal(h.gs.syncs, 1);
  await h.gs.flush();
  assert.equal(h.pending.length, 1, 'synced changes need no second fsync');
});

test('GroupSync: a write made while an fsync runs waits for the next one', async () => {
  const h = harness();
  h.write();
  const first = h.gs.flush();
  await tick();
  h.write();
  let late = false;
  const second = h.gs.flush().then(() => {
    late = true;
  });
  h.pending[0]!.resolve();
  await first;
  await tick();
  assert.equal(late, false, 'the first fsync did not cover the second write');
  assert.equal(h.pending.length, 2);
  h.pending[1]!.resolve();
  await second;
  assert.equal(h.gs.syncs, 2);
});

test('GroupSync: a failed fsync fails the answers waiting on it, and the next flush tries again', async () => {
  const h = harness();
  h.write();
  const f = h.gs.flush();
  await tick();
  h.pending[0]!.reject(new Error('EIO'));
  await assert.rejects(f, /could not be synced to disk: EIO/);
  const g = h.gs.flush();
  await tick();
  assert.equal(h.pending.length, 2);
  h.pending[1]!.resolve();
  await g;
});

test('sqliteGroupSync: the file runs synchronous=NORMAL, every write counts, the WAL is synced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-group-sync-'));
  try {
    const file = join(dir, 'manager.db');
    const opened = openDb(file);
    assert.ok(opened instanceof SqliteDb);
    const db = opened.raw;
    assert.equal(db.pragma('synchronous', { simple: true }), 2, 'openDb keeps FULL for everyone else');
    const gs = sqliteGroupSync(db, file);
    assert.equal(db.pragma('synchronous', { simple: true }), 1);
    await gs.flush();
    assert.equal(gs.syncs, 0);
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('group-sync-test', '1');
    await gs.flush();
    assert.equal(gs.syncs, 1);
    await gs.close();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('durableApi: an answer (result or error) waits for the flush; channels pass through', async () => {
  let release!: () => void;
  let flushes = 0;
  const flush = () =>
    new Promise<void>((r) => {
      flushes++;
      release = r;
    });
  const channel = () => 'stream';
  const impl = {
    Version: async () => 'v',
    WorkerPingInfoRemove: async () => {
      throw new Error('refused');
    },
    UnsealPiece: channel,
  } as unknown as ApiImpl<typeof ManagerAPI>;
  const api = durableApi(ManagerAPI, impl, flush) as unknown as Record<string, (...a: unknown[]) => unknown>;
  let answered = false;
  const v = (api.Version!() as Promise<string>).then((x) => {
    answered = true;
    return x;
  });
  await tick();
  assert.equal(answered, false, 'held until the flush');
  release();
  assert.equal(await v, 'v');
  const e = api.WorkerPingInfoRemove!('w') as Promise<unknown>;
  await tick();
  release();
  await assert.rejects(e, /refused/);
  assert.equal(flushes, 2);
  assert.equal(api.UnsealPiece, channel);
});
