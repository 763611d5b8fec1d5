import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sealInit } from '../store.js';
import { checkSealStores, lockSealStore, SEAL_LOCK_FILE } from './seal-lock.js';

const base = await mkdtemp(join(tmpdir(), 'seal-lock-'));
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rm(base, { recursive: true, force: true });
});

let n = 0;
async function store(): Promise<string> {
  const p = join(base, `seal_${n++}`);
  await sealInit([p]);
  return p;
}

/** Another process that takes the store's lock as a worker's sealing thread does, and holds it. */
async function otherWorker(location: string): Promise<ChildProcess> {
  const lockModule = new URL('./seal-lock.ts', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { lockSealStore } = await import(${JSON.stringify(lockModule)});
       lockSealStore(${JSON.stringify(location)});
       process.stdout.write('locked\\n');
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`the other worker exited (${code})`)));
  });
  return child;
}

test('a second worker on a seal store is refused with the path and the other pid; free again once it is gone', async () => {
  const loc = await store();
  const other = await otherWorker(loc);
  const want = `seal store ${loc} is in use by another venus-worker (pid ${other.pid}): one worker per seal store`;
  await assert.rejects(checkSealStores([loc]), { message: want }, 'the start-up check, before any processor');
  assert.throws(() => lockSealStore(loc), { message: want }, "the sealing thread's lock");
  // the other worker is killed (-9): its lock stays behind, and is taken over
  other.kill('SIGKILL');
  await new Promise((r) => other.once('exit', r));
  assert.ok(existsSync(join(loc, SEAL_LOCK_FILE)), 'kill -9 leaves the lock file');
  await checkSealStores([loc]);
  const release = lockSealStore(loc);
  assert.equal(JSON.parse(readFileSync(join(loc, SEAL_LOCK_FILE), 'utf8')).pid, process.pid);
  release();
  assert.ok(!existsSync(join(loc, SEAL_LOCK_FILE)), 'released on stop');
});

test('stale locks are taken over: a dead pid, a reused pid, an unreaped (zombie) worker, a lock cut short', async () => {
  const loc = await store();
  const file = join(loc, SEAL_LOCK_FILE);
  const dead = spawnSync('true').pid!;
  writeFileSync(file, JSON.stringify({ pid: dead, host: hostname(), started: '1' }));
  lockSealStore(loc)();

  if (existsSync('/proc/self/stat')) {
    // a live process that started after the lock was written: the pid was reused by something else
    const sleeper = spawn('sleep', ['30']);
    children.push(sleeper);
    writeFileSync(file, JSON.stringify({ pid: sleeper.pid, host: hostname(), started: '1' }));
    lockSealStore(loc)();
    sleeper.kill('SIGKILL');
  }

  if (existsSync('/proc/self/stat')) {
    // a killed worker not yet reaped by its parent (a zombie) holds nothing
    const zombie = spawn('sleep', ['30']);
    children.push(zombie);
    const pid = zombie.pid!;
    const started = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
    writeFileSync(file, JSON.stringify({ pid, host: hostname(), started }));
    assert.throws(() => lockSealStore(loc), new RegExp(`pid ${pid}`), 'alive: refused');
    // no await between the kill and the check: node cannot reap it meanwhile
    process.kill(pid, 'SIGKILL');
    const end = Date.now() + 5000;
    while (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z' && Date.now() < end) {
      // spin until the kernel marks it a zombie
    }
    lockSealStore(loc)();
  }

  writeFileSync(file, '{"pid": 12');
  lockSealStore(loc)();
});

test('a lock held on another host is refused (its pid means nothing here), naming the file to remove', async () => {
  const loc = await store();
  writeFileSync(join(loc, SEAL_LOCK_FILE), JSON.stringify({ pid: 4242, host: 'other-host', started: null }));
  assert.throws(
    () => lockSealStore(loc),
    new RegExp(`in use by another venus-worker \\(pid 4242 on host other-host\\).*remove ${join(loc, SEAL_LOCK_FILE)}`),
  );
});

test('within one process: a store is held once; an unformatted store is refused before the lock', async () => {
  const loc = await store();
  const release = lockSealStore(loc);
  assert.throws(() => lockSealStore(loc), /already used by a sealing thread of this worker/);
  await assert.rejects(checkSealStores([loc]), /already used by a sealing thread of this worker/);
  release();
  lockSealStore(loc)();
  await assert.rejects(
    checkSealStores([join(base, 'nope')]),
    /does not exist: format it with "venus-worker store seal-init/,
  );
});
