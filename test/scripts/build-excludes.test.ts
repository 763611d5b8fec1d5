/**
 * tsconfig.build.json keeps tests, test kits and fakes out of dist/. An excluded file is still compiled when a
 * file of the build imports it, so: no file of the build may import one.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// the exclude patterns of tsconfig.build.json, as tests on a path relative to the root
const EXCLUDED = [
  /\.test\.ts$/,
  /(^|\/)testkit\.ts$/,
  /\.test-util\.ts$/,
  /(^|\/)testdata\//,
  /^src\/proofs\/prover\/test-processor\.ts$/,
];
const excluded = (rel: string) => EXCLUDED.some((re) => re.test(rel));

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(relative(ROOT, p));
  }
  return out;
}

test('tsconfig.build.json lists the patterns this test checks', () => {
  const cfg = readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8');
  for (const p of [
    'src/**/*.test.ts',
    'src/**/testkit.ts',
    'src/**/*.test-util.ts',
    'src/**/testdata/**',
    'src/proofs/prover/test-processor.ts',
  ]) {
    assert.ok(cfg.includes(`"${p}"`), p);
  }
});

test('no file compiled into dist/ imports a test, test kit or fake', () => {
  const offenders: string[] = [];
  const built = walk(join(ROOT, 'src'), []).filter((f) => !excluded(f));
  assert.ok(built.length > 100);
  for (const file of built) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = relative(ROOT, resolve(dirname(join(ROOT, file)), m[1]!.replace(/\.js$/, '.ts')));
      if (existsSync(join(ROOT, target)) && excluded(target)) offenders.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});
