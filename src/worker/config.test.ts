import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../common/config.js';
import { loadWorkerConfig, parseHumanDuration, parseWorkerConfig, SEALING_DEFAULTS } from './config.js';

// the deployment guide's file, word for word (comments included), with the commented subs switched on
const GUIDE = `
# venus-sector-manager API
[sealer_rpc]
url = "ws://127.0.0.1:1789/rpc/v0"

# sealing related config
[sealing]
# allow deals?
enable_deals = false
# when sealing fails, how many times to retry before giving up
max_retries = 3

# path to local storage
[[store]]
location = "/data/store1"

[[store]]
location = "/data/store2"

[[store]]
location = "/data/store3"

# number of parallel tasks for each phase
[limit]
# number of PC1 in parallel
# pc1 = 1
pc2 = 1
c2 = 1

# path to remote permanent storage
[remote]
path = "/mnt/remote"

# C2 sub processes related
[processors.pc2]
# sub processes
external = true
[[processors.pc2.subs]]
[processors.pc2.subs.cgroup]
cpuset = "24-27"

[[processors.pc2.subs]]
[processors.pc2.subs.cgroup]
cpuset = "28-31"

# C2 sub processes related
[processors.c2]
# sub processes
external = true
`;

function problems(text: string): string {
  try {
    parseWorkerConfig('venus-worker.toml', text, '/base');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, /^venus-worker\.toml: invalid configuration/);
    return err.message;
  }
  assert.fail('config should be refused');
}

test("the deployment guide's config", () => {
  const c = parseWorkerConfig('venus-worker.toml', GUIDE, '/base');
  assert.equal(c.sectorManager.url, 'ws://127.0.0.1:1789/rpc/v0');
  assert.equal(c.sealing.enableDeals, false);
  assert.equal(c.sealing.maxRetries, 3);
  // the other [sealing] keys keep the defaults of docs/spec/sealer-api.md §Worker configuration
  assert.equal(c.sealing.recoverIntervalMs, 60_000);
  assert.equal(c.sealing.rpcPollingIntervalMs, 180_000);
  assert.equal(c.sealing.sealIntervalMs, 30_000);
  assert.deepEqual(
    c.threads.map((t) => t.location),
    ['/data/store1', '/data/store2', '/data/store3'],
  );
  assert.equal(c.threads[0]!.sealing.maxRetries, 3);
  assert.deepEqual(c.limits.concurrent, { pc2: 1, c2: 1 });
  assert.deepEqual(c.persistStores, [{ name: '/mnt/remote', location: '/mnt/remote', readonly: false }]);
  assert.equal(c.processors.pc2?.length, 2);
  assert.deepEqual(c.processors.pc2?.[0]?.cgroup, { groupName: 'vc-worker', cpuset: '24-27' });
  assert.equal(c.processors.pc2?.[1]?.cgroup?.cpuset, '28-31');
  // external = true with its subs commented out: one sub with the defaults
  assert.equal(c.processors.c2?.length, 1);
  assert.equal(c.processors.c2?.[0]?.cgroup, null);
  assert.equal(c.processors.c2?.[0]?.stableWaitMs, 5000);
  assert.equal(c.processors.c2?.[0]?.autoRestart, true);
  assert.equal(c.processors.pc1, undefined);
  // the control API binds loopback unless told; its secret lives next to the config
  assert.deepEqual(c.rpcServer, {
    host: '127.0.0.1',
    port: 17890,
    section: 'worker_server',
    authDir: '/base/venus-worker-auth',
    managerSecretPath: null,
    openMetrics: true,
  });
});

test('processor timeouts: per stage defaults, [processors.<stage>] timeout, per sub, "0" for none', () => {
  const c = parseWorkerConfig(
    'w.toml',
    `[sealer_rpc]
url = "ws://127.0.0.1:1789/rpc/v0"
[[store]]
location = "/s"
[processors.pc2]
external = true
timeout = "2h"
[[processors.pc2.subs]]
[[processors.pc2.subs]]
timeout = "90min"
[[processors.c2]]
timeout = "0"
[[processors.pc1]]
`,
    '/base',
  );
  assert.deepEqual(
    c.processors.pc2?.map((s) => s.timeoutMs),
    [7_200_000, 5_400_000],
  );
  assert.equal(c.processors.c2?.[0]?.timeoutMs, null);
  assert.equal(c.processors.pc1?.[0]?.timeoutMs, 24 * 3_600_000);
  assert.match(
    problems(
      '[sealer_rpc]\nurl = "ws://x:1/rpc/v0"\n[[store]]\nlocation = "/s"\n[processors.pc2]\nexternal = true\ntimeout = "soon"\n',
    ),
    /processors\.pc2\.timeout: bad duration "soon"/,
  );
});

test('damocles spellings resolve to the same configuration', () => {
  const c = parseWorkerConfig(
    'damocles-worker.toml',
    `
[worker]
name = "box1"
rpc_server.port = 17999
[sector_manager]
rpc_client.addr = "/ip4/127.0.0.1/tcp/1789"
piece_token = "tok"
[sealing]
allowed_sizes = ["2KiB"]
recover_interval = "5min"
rpc_polling_interval = "1m30s"
[[sealing_thread]]
location = "./s1"
[[sealing_thread]]
location = "./s2"
sealing.max_retries = 9
[[attached]]
name = "nfs1"
location = "/mnt/nfs1"
[processors.limitation.concurrent]
pc1 = 2
[processors.limitation.staggered]
pc1 = "5s"
[processors.ext_locks]
gpu = 1
[[processors.c2]]
bin = "/usr/bin/c2"
args = ["x"]
concurrent = 2
locks = ["gpu"]
envs = { RUST_LOG = "info" }
cgroup.cpuset = "0-3"
`,
    '/base',
  );
  assert.equal(c.name, 'box1');
  assert.equal(c.rpcServer.port, 17999);
  assert.equal(c.rpcServer.section, 'worker.rpc_server');
  assert.equal(c.sectorManager.url, 'http://127.0.0.1:1789/rpc/v0');
  assert.equal(c.sectorManager.pieceToken, 'tok');
  assert.deepEqual(c.sealing.allowedSizes, [2048]);
  assert.deepEqual(c.sealing.allowedProofTypes, [5]); // StackedDrg2KiBV1_1
  assert.equal(c.sealing.recoverIntervalMs, 300_000);
  assert.equal(c.sealing.rpcPollingIntervalMs, 90_000);
  assert.deepEqual(
    c.threads.map((t) => [t.location, t.sealing.maxRetries]),
    [
      ['/base/s1', SEALING_DEFAULTS.maxRetries],
      ['/base/s2', 9],
    ],
  );
  assert.deepEqual(c.persistStores, [{ name: 'nfs1', location: '/mnt/nfs1', readonly: false }]);
  assert.deepEqual(c.limits, { concurrent: { pc1: 2 }, staggeredMs: { pc1: 5000 } });
  const s = c.processors.c2![0]!;
  assert.equal(s.bin, '/usr/bin/c2');
  assert.deepEqual(s.args, ['x']);
  assert.equal(s.concurrent, 2);
  assert.deepEqual(s.locks, ['gpu']);
  assert.deepEqual(s.envs, { RUST_LOG: 'info' });
  assert.deepEqual(s.cgroup, { groupName: 'vc-worker', cpuset: '0-3' });
});

test('malformed configs name the file, the key and the reason', () => {
  assert.match(problems('[sealer_rpc]\nurl = "ws://x/rpc/v0"\n[[store]\n'), /TOML syntax error at line 3/);
  assert.match(problems('[[store]]\nlocation = "/a"\n'), /sealer_rpc\.url: missing \(required\)/);
  assert.match(problems('[sealer_rpc]\nurl = "ws://x/rpc/v0"\n'), /store: no seal store/);
  const bad = problems(`
[sealer_rpc]
url = "ws://x/rpc/v0"
[sealing]
max_retries = "three"
recover_interval = "soon"
enable_deal = true
allowed_sizes = ["3KiB"]
[[store]]
location = "/a"
[[store]]
location = "/a"
[limit]
pc3 = 1
[processors.window_post]
external = true
[processors.pc2]
external = "yes"
[processors.c2]
external = true
[[processors.c2.subs]]
cgroup.cpuset = "cores 1 to 4"
`);
  assert.match(bad, /processors\.c2\.subs\[0\]\.cgroup\.cpuset: expected a cpu list such as "0-7"/);
  assert.match(bad, /sealing\.max_retries: expected number, received string/);
  assert.match(bad, /sealing\.recover_interval: bad duration "soon"/);
  assert.match(bad, /sealing: unknown key "enable_deal"/);
  assert.match(bad, /limit\.pc3: unknown stage/);
  assert.match(bad, /processors\.window_post: this stage belongs to a plan this build does not run/);
  assert.match(bad, /processors\.pc2/);
  // semantic checks run once the shape is right
  const sem = problems(`
[sealer_rpc]
url = "ftp://x"
[sealing]
allowed_sizes = ["3KiB"]
[[store]]
location = "/a"
[[store]]
location = "/a"
[[sealing_thread]]
location = "/b"
plan = "snapup"
`);
  assert.match(sem, /sealer_rpc\.url: expected a URL/);
  assert.match(sem, /sealing\.allowed_sizes\[0\]: unsupported sector size 3KiB/);
  assert.match(sem, /store\[1\]\.location: "\/a" is listed twice/);
  assert.match(sem, /\[\[store\]\] and \[\[sealing_thread\]\] are two spellings/);
});

test('a missing file says so', () => {
  assert.throws(
    () => loadWorkerConfig('/nonexistent/venus-worker.toml'),
    /\/nonexistent\/venus-worker\.toml: .*cannot read: ENOENT/s,
  );
});

test('relative paths resolve from the working directory given', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wcfg-'));
  const f = join(dir, 'w.toml');
  writeFileSync(
    f,
    '[sealer_rpc]\nurl = "http://127.0.0.1:1/rpc/v0"\n[[store]]\nlocation = "./s"\n[remote]\npath = "r"\n',
  );
  const c = loadWorkerConfig(f, dir);
  assert.equal(c.threads[0]!.location, join(dir, 's'));
  assert.equal(c.persistStores[0]!.location, join(dir, 'r'));
});

test('humantime and Go durations', () => {
  assert.equal(parseHumanDuration('30s'), 30_000);
  assert.equal(parseHumanDuration('5min'), 300_000);
  assert.equal(parseHumanDuration('1h 30m'), 5_400_000);
  assert.equal(parseHumanDuration('1m30s'), 90_000);
  assert.equal(parseHumanDuration('500ms'), 500);
  assert.equal(parseHumanDuration('2days'), 172_800_000);
  assert.throws(() => parseHumanDuration('5 fortnights'), /unknown unit "fortnights"/);
  assert.throws(() => parseHumanDuration('abc'), /bad duration/);
});
