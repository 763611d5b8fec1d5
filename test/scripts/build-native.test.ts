/**
 * scripts/build-native.mjs on a copy of the repository whose native/ cannot build (a broken binding.gyp):
 * a warning and exit 0 by default, a failure with VENUS_REQUIRE_NATIVE (what CI sets), nothing with
 * VENUS_NO_NATIVE.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let copy: string;

before(() => {
  copy = mkdtempSync(join(tmpdir(), 'build-native-'));
  mkdirSync(join(copy, 'scripts'));
  copyFileSync(join(ROOT, 'scripts', 'build-native.mjs'), join(copy, 'scripts', 'build-native.mjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  mkdirSync(join(copy, 'native', 'src'), { recursive: true });
  writeFileSync(join(copy, 'native', 'binding.gyp'), '{ this is not gyp');
  writeFileSync(join(copy, 'native', 'src', 'empty.c'), '');
});
after(() => rmSync(copy, { recursive: true, force: true }));

function build(env: Record<string, string>) {
  const clean = { ...process.env };
  delete clean.VENUS_REQUIRE_NATIVE;
  delete clean.VENUS_NO_NATIVE;
  return spawnSync(process.execPath, [join(copy, 'scripts', 'build-native.mjs')], {
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

test('a failed build falls back to the TypeScript kernels by default', () => {
  const r = build({});
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /native kernels failed to build .*; using the TypeScript kernels/);
});

test('with VENUS_REQUIRE_NATIVE a failed build fails the run', () => {
  const r = build({ VENUS_REQUIRE_NATIVE: '1' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /native kernels failed to build .*VENUS_REQUIRE_NATIVE is set: failing/);
});

test('VENUS_NO_NATIVE skips the build', () => {
  const r = build({ VENUS_NO_NATIVE: '1', VENUS_REQUIRE_NATIVE: '1' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
