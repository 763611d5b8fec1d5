import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import {
  ConfigError,
  ConfigReadError,
  duration,
  formatDuration,
  loadConfigFile,
  parseConfigText,
  parseDuration,
} from './config.js';

const schema = z
  .object({
    API: z.object({ ListenAddress: z.string() }).strict(),
    Wait: duration().default(60_000),
    Stores: z.array(z.object({ Name: z.string(), ReadOnly: z.boolean().default(false) }).strict()).default([]),
  })
  .strict();

test('a valid file parses with defaults and durations', () => {
  const c = parseConfigText(
    'x.toml',
    '[API]\nListenAddress = "/ip4/127.0.0.1/tcp/1"\n[[Stores]]\nName = "a"\n',
    schema,
  );
  assert.equal(c.Wait, 60_000);
  assert.deepEqual(c.Stores, [{ Name: 'a', ReadOnly: false }]);
});

test('problems name the file, the key and the reason', () => {
  const text = 'Wait = "ten"\nBogus = 1\n[API]\nListenAddress = 5\n[[Stores]]\nName = "a"\nReadOnly = "yes"\n';
  try {
    parseConfigText('sector-manager.cfg', text, schema);
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const m = err.message;
    assert.match(m, /^sector-manager\.cfg: invalid configuration/);
    assert.match(m, /API\.ListenAddress: expected string, received number/);
    assert.match(m, /Wait: bad duration "ten"/);
    assert.match(m, /unknown key "Bogus"/);
    assert.match(m, /Stores\[0\]\.ReadOnly: expected boolean/);
  }
});

test('TOML syntax errors give the line', () => {
  assert.throws(() => parseConfigText('w.toml', '[API\n', schema), /w\.toml: .*line 1/s);
});

test('Go durations both ways', () => {
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('168h'), 168 * 3_600_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.throws(() => parseDuration('5 minutes'), /bad duration/);
  assert.throws(() => parseDuration(''), /bad duration/);
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h0m0s');
});

test('a file that cannot be read is a ConfigReadError carrying the system code, so callers branch on ENOENT', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-read-'));
  try {
    const schema = z.strictObject({});
    const missing = join(dir, 'missing.toml');
    assert.throws(
      () => loadConfigFile(missing, schema),
      (e: unknown) =>
        e instanceof ConfigReadError &&
        e instanceof ConfigError &&
        e.code === 'ENOENT' &&
        e.message === `${missing}: invalid configuration:\n  cannot read: ENOENT`,
    );
    // a directory where the file should be: read, but not ENOENT
    assert.throws(
      () => loadConfigFile(dir, schema),
      (e: unknown) => e instanceof ConfigReadError && e.code === 'EISDIR',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
