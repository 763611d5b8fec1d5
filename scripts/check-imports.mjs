// Layering check (run by `npm run lint`): code outside src/proofs and src/fil imports them only through their
// index files (`proofs/index.js`, `fil/index.js`), so each keeps a narrow public surface and its internals can move.
// Tests and test kits may reach internals; so may anything for the sealed-sector fixture (tests and benchmarks).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');
const GUARDED = ['proofs', 'fil'];
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g;

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const problems = [];
const TEST = /(\.test\.ts|test-util\.ts|testkit\.ts|harness\.ts)$/;
const ALLOWED = new Set(['proofs/porep/fixture.js']);
for (const file of walk(src, [])) {
  const rel = relative(src, file);
  if (TEST.test(rel)) continue;
  const home = rel.split('/')[0];
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1];
    if (!spec.startsWith('.')) continue;
    const target = relative(src, join(file, '..', spec));
    const [top, ...rest] = target.split('/');
    if (!GUARDED.includes(top) || top === home) continue;
    if ((rest.length === 1 && rest[0] === 'index.js') || ALLOWED.has(target)) continue;
    const line = text.slice(0, m.index).split('\n').length + 1;
    problems.push(`src/${rel}:${line}: imports ${spec}; import src/${top}/index.js instead`);
  }
}
if (problems.length) {
  console.error(`${problems.length} import(s) reach inside src/proofs or src/fil:\n${problems.join('\n')}`);
  process.exit(1);
}
