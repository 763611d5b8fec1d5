// Runs every *.test.ts under src/ and test/ with node's test runner (through tsx).
// Node 20's runner has no glob support, so we list the files ourselves.
//   node scripts/run-tests.mjs            all tests
//   node scripts/run-tests.mjs --unit     skip test/e2e
//   node scripts/run-tests.mjs PATTERN…   only files whose path contains a pattern
// Without a pattern, the manager's tests (src/manager) then run again with their stores on PostgreSQL
// (VENUS_TEST_DB=postgres, one throwaway server for the run) when PostgreSQL is installed; CI=true requires it.
//   VENUS_TEST_DB=postgres node scripts/run-tests.mjs src/manager     the same by hand
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unit = args.includes('--unit');
const patterns = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = [...walk(join(root, 'src'), []), ...walk(join(root, 'test'), [])].sort();
if (unit) files = files.filter((f) => !f.startsWith('test/e2e'));
if (patterns.length) files = files.filter((f) => patterns.some((p) => f.includes(p)));
if (!files.length) {
  console.error('no test files matched');
  process.exit(1);
}
const runFiles = (list, env = {}) =>
  spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=spec',
      `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
      ...list,
    ],
    { stdio: 'inherit', cwd: root, env: { ...process.env, NODE_ENV: 'test', ...env } },
  ).status ?? 1;

const pgLocal = new URL('../src/common/pg-local.ts', import.meta.url).href;

/** Whether src/common/pg-local.ts finds initdb and pg_ctl (asked through tsx: the same check the tests use). */
function pgAvailable() {
  const code = `import(${JSON.stringify(pgLocal)}).then((m) => process.exit(m.pgAvailable() ? 0 : 3))`;
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: root, stdio: 'ignore' }).status === 0;
}

/** One throwaway PostgreSQL for the whole second run: its DSN, and how to stop it (closing its stdin). */
async function startPostgres() {
  const code = `
    import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    const m = await import(${JSON.stringify(pgLocal)});
    const dir = mkdtempSync(join(tmpdir(), 'venus-pg-run-'));
    chmodSync(dir, 0o755);
    const s = await m.startLocalPostgres({ dir: join(dir, 'pg'), fast: true });
    process.stdout.write(s.dsn + '\\n');
    process.stdin.on('end', () => s.stop().then(() => { rmSync(dir, { recursive: true, force: true }); process.exit(0); }));
    process.stdin.resume();`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const dsn = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      if (buf.includes('\n')) resolve(buf.split('\n')[0]);
    });
    child.on('exit', (c) => reject(new Error(`the test PostgreSQL did not start (exit ${c})`)));
  });
  return {
    dsn,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.end();
      }),
  };
}

let status = runFiles(files);
if (!patterns.length) {
  const manager = files.filter((f) => f.startsWith('src/manager/'));
  if (pgAvailable()) {
    console.log(
      `\n# the manager's tests again, stores on PostgreSQL (VENUS_TEST_DB=postgres): ${manager.length} files`,
    );
    const pg = await startPostgres();
    try {
      const s = runFiles(manager, { VENUS_TEST_DB: 'postgres', VENUS_TEST_PG_DSN: pg.dsn });
      if (status === 0) status = s;
    } finally {
      await pg.stop();
    }
  } else if (process.env.CI === 'true') {
    console.error(
      '\nCI: PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin): the manager ' +
        'tests must also run on it. Install it (Debian: apt-get install postgresql; .ci/run does).',
    );
    if (status === 0) status = 1;
  } else {
    console.log('\n# PostgreSQL not installed: the manager tests ran on SQLite only');
  }
}
process.exit(status);
