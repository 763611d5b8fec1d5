// Checks that the repository stands on its own (run by `npm run lint`, hence `npm test` and CI):
//  - no file under src/, test/, scripts/ or .ci/, nor the README or docs/, names a path outside the repository
//    (the machine it was written on, a shared folder beside the clone);
//  - no comment cites a research note that only existed outside the repository;
//  - every `docs/…` path they cite exists, and every `§Section` cited after a docs/spec page is a heading there.
// Prints file:line: reason for each finding and exits 1 when there is one.
//   node scripts/check-self-contained.mjs [ROOT]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.argv[2] ?? new URL('..', import.meta.url).pathname;
const SCAN = ['src', 'test', 'scripts', '.ci', 'docs', 'README.md'];
const TEXT = /\.(ts|mts|mjs|js|cjs|json|md|toml|sh|c|h|gyp|txt|yml|yaml)$|^run$/;
const SELF = 'scripts/check-self-contained.mjs';

// Built from pieces so this file does not match itself.
const SH = 'shared';
const OUTSIDE = [
  [new RegExp(`/work${'/'}`), 'an absolute path on the development machine'],
  [new RegExp(`\\.\\./${SH}\\b`), 'a folder beside the clone'],
  [new RegExp(`${SH}/(research|vectors|seed)\\b`), 'the shared folder outside the repository'],
];
const NOTES = ['proofs', 'damocles', 'chain-wallet', 'npm', 'market', 'fuzz-results', 'guide-walkthrough'];
const NOTE = new RegExp(`(^|[^\\w/.-])(${NOTES.join('|')})\\.md\\b`);
const REVIEWS = new RegExp(`\\b(code|security)-${'review'}\\b`);
const DOC_PATH = /(^|[\s(`'"[])(docs\/[\w./-]*[\w-])/g;
const SECTION = /docs\/spec\/([\w-]+\.md)( §.*)$/gm;

function walk(path, out) {
  if (!existsSync(path)) return out;
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path)) if (name !== 'node_modules' && name !== 'dist') walk(join(path, name), out);
  } else if (TEXT.test(path.split('/').pop())) out.push(path);
  return out;
}

const headings = new Map();
function headingsOf(page) {
  if (!headings.has(page)) {
    const file = join(root, 'docs', 'spec', page);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    headings.set(
      page,
      [...text.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)].map((m) => m[1]),
    );
  }
  return headings.get(page);
}

/** A cited section names a heading: the citation may run on (`§Worker configuration defaults`) or be cut by a line end. */
function sectionExists(page, cited) {
  const s = cited.trim();
  return headingsOf(page).some((h) => s === h || s.startsWith(`${h} `) || (h.startsWith(s) && s.length >= 4));
}

/** `§A`, `§A, §B`, `§A to §B` right after a page name; a section name ends at punctuation or a clause. */
function citedSections(rest) {
  const names = [];
  let text = rest;
  for (;;) {
    const m = /^(?:\s+|\s*,\s*|\s+(?:to|and)\s+)§([^§,;:.)('"`]+)/.exec(text);
    if (!m) return names;
    const name = m[1].split(/\s(?:to|and|derives|as|defaults)\b/)[0].trim();
    names.push(name);
    text = text.slice(m[0].length - (m[1].length - name.length));
  }
}

const findings = [];
for (const file of SCAN.flatMap((p) => walk(join(root, p), []))) {
  const rel = relative(root, file);
  if (rel === SELF) continue;
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const at = `${rel}:${i + 1}`;
    for (const [re, what] of OUTSIDE) if (re.test(line)) findings.push(`${at}: names ${what}: ${line.trim()}`);
    const note = NOTE.exec(line);
    // inside docs/spec/ a bare page name is a sibling page
    const sibling = note && rel.startsWith('docs/spec/') && existsSync(join(root, 'docs', 'spec', `${note[2]}.md`));
    if (note && !sibling)
      findings.push(`${at}: cites ${note[2]}.md, which is not in the repository (cite docs/spec/…)`);
    if (REVIEWS.test(line)) findings.push(`${at}: cites a review that is not in the repository`);
    for (const m of line.matchAll(DOC_PATH)) {
      const path = m[2].replace(/\.$/, '');
      if (!existsSync(join(root, path))) findings.push(`${at}: cites ${path}, which does not exist`);
    }
    for (const m of line.matchAll(SECTION)) {
      if (!existsSync(join(root, 'docs', 'spec', m[1]))) continue; // reported above
      for (const name of citedSections(m[2])) {
        if (!sectionExists(m[1], name)) findings.push(`${at}: docs/spec/${m[1]} has no section "${name}"`);
      }
    }
  });
}
for (const f of findings) console.error(f);
if (findings.length) {
  console.error(`check-self-contained: ${findings.length} finding(s)`);
  process.exit(1);
}
