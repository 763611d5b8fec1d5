/**
 * scripts/check-self-contained.mjs: the repository itself passes, and a tree with each kind of finding fails,
 * naming file and line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'check-self-contained.mjs');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function check(root?: string) {
  return spawnSync(process.execPath, root ? [SCRIPT, root] : [SCRIPT], { encoding: 'utf8' });
}

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'self-contained-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const SPEC = '# Spec\n\n## Replica ID\n\n## CommP and zero pieces\n';
// the forbidden strings, assembled so this file does not contain them
const SHARED = ['..', 'shared', 'vectors', 'x.bin'].join('/');
const WORK = ['', 'work', 'data.bin'].join('/');
const NOTE = ['chain-wallet', 'md'].join('.');
const MISSING = ['docs', 'spec', 'missing.md'].join('/');
const PAGE = ['docs', 'spec', ['proofs', 'md'].join('.')].join('/');

test('this repository is self-contained', () => {
  const r = check();
  assert.equal(r.status, 0, r.stderr);
});

test('a clean tree passes, citations to existing pages and sections included', () => {
  const root = tree({
    'docs/spec/proofs.md': SPEC,
    'src/a.ts': `// ${PAGE} §Replica ID, §CommP and zero pieces\nexport const a = 1;\n`,
  });
  const r = check(root);
  assert.equal(r.status, 0, r.stderr);
});

test('paths outside the repository, missing notes, pages and sections are reported with file:line', () => {
  const root = tree({
    'docs/spec/proofs.md': SPEC,
    'src/a.ts': `export const v = '${SHARED}';\nexport const w = '${WORK}';\n`,
    'test/b.test.ts': `// see ${NOTE} §7\n// ${PAGE} §Labels\n// ${MISSING}\n`,
  });
  const r = check(root);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^src\/a\.ts:1: names a folder beside the clone/m);
  assert.match(r.stderr, /^src\/a\.ts:2: names an absolute path on the development machine/m);
  assert.match(r.stderr, /^test\/b\.test\.ts:1: cites chain-wallet\.md, which is not in the repository/m);
  assert.match(r.stderr, /^test\/b\.test\.ts:2: docs\/spec\/proofs\.md has no section "Labels"/m);
  assert.match(r.stderr, /^test\/b\.test\.ts:3: cites docs\/spec\/missing\.md, which does not exist/m);
  assert.match(r.stderr, /6 finding\(s\)/);
});
