/**
 * The repo's files on disk: config.toml (the API secret) is private and rewritten atomically; the keystore is
 * private; a second daemon is told which pid to stop.
 */
import assert from 'node:assert/strict';
import fs, { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import { setupLogging } from '../common/log.js';
import { CONFIG_FILE, loadWalletConfig, writeWalletConfig } from './config.js';
import { KeyStore } from './keystore.js';
import { initRepo, LOCK_FILE, lockRepo } from './repo.js';

setupLogging({ levelSpec: 'silent' });

const mode = (p: string) => statSync(p).mode & 0o777;
const freshRepo = () => {
  const repo = join(mkdtempSync(join(tmpdir(), 'wrepo-')), 'repo');
  mkdirSync(repo, { mode: 0o755 });
  return repo;
};

describe('wallet repo files', () => {
  it('an operator-made config.toml (0644) without [JWT] is 0600 once the secret is written into it', async () => {
    const repo = freshRepo();
    const cfg = join(repo, CONFIG_FILE);
    writeFileSync(cfg, '[API]\nListenAddress = "/ip4/127.0.0.1/tcp/0/http"\n', { mode: 0o644 });
    const c = await initRepo(repo);
    assert.match(c.JWT.Secret, /^[0-9a-f]{64}$/);
    assert.equal(mode(cfg), 0o600);
    assert.equal(loadWalletConfig(repo).JWT.Secret, c.JWT.Secret);
  });

  it('a complete config.toml left at 0644 is narrowed to 0600 at start', async () => {
    const repo = freshRepo();
    await initRepo(repo);
    const cfg = join(repo, CONFIG_FILE);
    fs.chmodSync(cfg, 0o644);
    await initRepo(repo);
    assert.equal(mode(cfg), 0o600);
  });

  it('a rewrite that fails halfway (disk full) leaves the previous config.toml whole, and no temp file', async () => {
    const repo = freshRepo();
    const c = await initRepo(repo);
    const cfg = join(repo, CONFIG_FILE);
    const before = readFileSync(cfg, 'utf8');
    const real = fs.writeSync;
    const failing = mock.method(fs, 'writeSync', (fd: number, buf: Uint8Array, off?: number, len?: number) => {
      real(fd, buf, off ?? 0, Math.min(len ?? buf.length, 10));
      const e = new Error('ENOSPC: no space left on device') as NodeJS.ErrnoException;
      e.code = 'ENOSPC';
      throw e;
    });
    syncBuiltinESMExports();
    try {
      c.APIRegisterHub.SupportAccounts = ['a', 'b'];
      assert.throws(() => writeWalletConfig(repo, c), /ENOSPC/);
    } finally {
      failing.mock.restore();
      syncBuiltinESMExports();
    }
    assert.equal(readFileSync(cfg, 'utf8'), before);
    assert.deepEqual(readdirSync(repo).sort(), [CONFIG_FILE]);
    assert.equal(loadWalletConfig(repo).JWT.Secret, c.JWT.Secret);
    // and a rewrite that succeeds replaces it, still 0600
    writeWalletConfig(repo, c);
    assert.deepEqual(loadWalletConfig(repo).APIRegisterHub.SupportAccounts, ['a', 'b']);
    assert.equal(mode(cfg), 0o600);
  });

  it('the keystore file and its WAL are 0600 with a permissive umask', () => {
    const dir = freshRepo();
    const db = join(dir, 'keystore.sqlit');
    const old = process.umask(0o022);
    try {
      const ks = new KeyStore(db, { scryptN: 1024, scryptP: 1 });
      ks.close();
    } finally {
      process.umask(old);
    }
    assert.equal(mode(db), 0o600);
    for (const f of [`${db}-wal`, `${db}-shm`]) if (existsSync(f)) assert.equal(mode(f), 0o600);
    // an existing keystore made by someone else at 0644 is narrowed
    fs.chmodSync(db, 0o644);
    new KeyStore(db, { scryptN: 1024, scryptP: 1 }).close();
    assert.equal(mode(db), 0o600);
  });

  it('a second daemon on the repo is told the pid to kill', () => {
    const repo = freshRepo();
    // a live process that is not us: our parent
    writeFileSync(join(repo, LOCK_FILE), String(process.ppid));
    assert.throws(
      () => lockRepo(repo),
      new RegExp(`pid ${process.ppid}\\); it is still running: kill ${process.ppid}`),
    );
  });
});
