import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatConfig, parseManagerConfig } from './config.js';
import { redactDsn } from './config-db.js';

test('[Common.DB]: SQLite by default, not shown; postgres needs a DSN; unknown Driver names the key', () => {
  const plain = parseManagerConfig('m.cfg', '');
  assert.equal(plain.Common.DB.Driver, 'sqlite');
  assert.ok(!formatConfig(plain).includes('Common'), 'a default config logs as before');
  assert.throws(() => parseManagerConfig('m.cfg', '[Common.DB]\nDriver = "mysql"\n'), /Common\.DB\.Driver/);
  assert.throws(() => parseManagerConfig('m.cfg', '[Common.DB]\nDriver = "postgres"\n'), /Common\.DB\.Postgres\.DSN/);
  assert.throws(
    () => parseManagerConfig('m.cfg', '[Common.DB.Postgres]\nDSN = "mysql://u:p@h/db"\n'),
    /Common\.DB\.Postgres\.DSN/,
  );
  assert.throws(
    () => parseManagerConfig('m.cfg', '[Common.DB.Postgres]\nStatementTimeout = "forever"\n'),
    /StatementTimeout/,
  );
  assert.throws(() => parseManagerConfig('m.cfg', '[Common.DB.Postgres]\nPoolSize = 0\n'), /PoolSize/);
});

test('formatConfig shows the DSN without its password', () => {
  const cfg = parseManagerConfig(
    'm.cfg',
    '[Common.DB]\nDriver = "postgres"\n[Common.DB.Postgres]\nDSN = "postgres://venus:hunter2@db.lan:5432/venus?sslmode=require"\nPoolSize = 8\n',
  );
  assert.equal(cfg.Common.DB.Postgres.PoolSize, 8);
  assert.equal(cfg.Common.DB.Postgres.StatementTimeout, '30s');
  const text = formatConfig(cfg);
  assert.ok(!text.includes('hunter2'), text);
  assert.match(text, /DSN = "postgres:\/\/venus:\*\*\*@db\.lan:5432\/venus\?sslmode=require"/);
  assert.match(text, /Driver = "postgres"/);
  assert.equal(redactDsn('postgres://u@h/db?password=x'), 'postgres://u@h/db?password=***');
});
