import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../common/config.js';
import {
  commitmentControls,
  commitmentPolicy,
  DEFAULT_CONFIG_TEXT,
  formatConfig,
  initHome,
  loadManagerConfig,
  ms,
  parseManagerConfig,
  postPolicy,
} from './config.js';

const T3 = 't3skelnvntu5m7kb656jfvr5dfy663aru76c6pxqp4qf6madrm7s4db77ysasefohdjypmoumc3niug6xmcxuq';
const TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoibGl0YW8wNCIsInBlcm0iOiJzaWduIiwiZXh0IjoiIn0.rezCJILQkXw0hZrCYdyVVX_dB2ZqqlXWCk4izAqnld8';

// The effective config of the guide's first-run log (Token values shortened by our redaction).
const GUIDE_EFFECTIVE = `[SectorManager]
  PreFetch = true

  [[SectorManager.Miners]]
    ID = 1033
    InitNumber = 0
    MaxNumber = 10000
    Disabled = false

[Commitment]
  [Commitment.DefaultPolicy]
    CommitBatchThreshold = 0
    CommitBatchMaxWait = "0s"
    CommitCheckInterval = "0s"
    EnableBatchProCommit = false
    PreCommitBatchThreshold = 0
    PreCommitBatchMaxWait = "0s"
    PreCommitCheckInterval = "0s"
    EnableBatchPreCommit = false
    PreCommitGasOverEstimation = 0.0
    ProCommitGasOverEstimation = 0.0
    BatchPreCommitGasOverEstimation = 0.0
    BatchProCommitGasOverEstimation = 0.0
    MaxPreCommitFeeCap = ""
    MaxProCommitFeeCap = ""
    MaxBatchPreCommitFeeCap = ""
    MaxBatchProCommitFeeCap = ""
    MsgConfidence = 0
  [Commitment.Miners]
    [Commitment.Miners.1033]
      [Commitment.Miners.1033.Controls]
        PreCommit = "${T3}"
        ProveCommit = "${T3}"
    [Commitment.Miners.example]
      [Commitment.Miners.example.Controls]
        PreCommit = ""
        ProveCommit = ""

[Chain]
  Api = "/ip4/192.168.200.12/tcp/3453"
  Token = "${TOKEN}"

[Messager]
  Api = "/ip4/192.168.200.12/tcp/39812"
  Token = "${TOKEN}"

[PersistedStore]
  Includes = []

  [[PersistedStore.Stores]]
    Name = "store-f01033"
    Path = "/mnt/test"
    Strict = false
    ReadOnly = false

[PoSt]
  [PoSt.Default]
    StrictCheck = false
    GasOverEstimation = 0.0
    MaxFeeCap = ""
    MsgCheckInteval = "1m0s"
    MsgConfidence = 5
  [PoSt.Actors]
    [PoSt.Actors.1033]
      Sender = "${T3}"
`;

test('daemon init writes the guide default; it loads to the defaults and is not overwritten', () => {
  const home = join(mkdtempSync(join(tmpdir(), 'vsm-')), 'home');
  const r = initHome(home);
  assert.equal(r.written, true);
  assert.equal(readFileSync(r.file, 'utf8'), DEFAULT_CONFIG_TEXT);
  assert.match(DEFAULT_CONFIG_TEXT, /^# Default config:\n\[SectorManager\]\n# {2}PreFetch = true\n/);
  assert.match(DEFAULT_CONFIG_TEXT, /# {4}Name = "storage name,like `100.100.10.1`"\n/);
  const cfg = loadManagerConfig(r.file);
  assert.equal(cfg.SectorManager.PreFetch, true);
  assert.deepEqual(cfg.SectorManager.Miners, []);
  assert.equal(cfg.PoSt.Default.MsgCheckInteval, '1m0s');
  assert.equal(cfg.PoSt.Default.MsgConfidence, 5);
  assert.equal(cfg.Commitment.DefaultPolicy.MsgConfidence, 0);
  writeFileSync(r.file, '[Chain]\n');
  assert.equal(initHome(home).written, false);
  assert.equal(readFileSync(r.file, 'utf8'), '[Chain]\n');
});

test('uncommenting every line of the default gives a valid config', () => {
  const text = DEFAULT_CONFIG_TEXT.split('\n')
    .map((l) => l.replace(/^#(?: Default config:)?/, ''))
    .join('\n');
  const cfg = parseManagerConfig('x.cfg', text);
  assert.equal(cfg.SectorManager.Miners[0]?.MaxNumber, 10000);
  assert.equal(cfg.PersistedStore.Stores[0]?.ReadOnly, true);
  assert.equal(postPolicy(cfg, 10000).Sender, 't1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za');
});

test("the guide's config round-trips to the guide's first-run log", () => {
  const cfg = parseManagerConfig('sector-manager.cfg', GUIDE_EFFECTIVE);
  const out = formatConfig(cfg);
  const [h, p] = TOKEN.split('.');
  assert.equal(out, GUIDE_EFFECTIVE.replaceAll(TOKEN, `${h}.${p}.***`));
  assert.deepEqual(commitmentControls(cfg, 1033), { PreCommit: T3, ProveCommit: T3 });
  assert.deepEqual(commitmentControls(cfg, 1034), { PreCommit: '', ProveCommit: '' });
  assert.equal(postPolicy(cfg, 1033).Sender, T3);
  assert.equal(ms(postPolicy(cfg, 1033).MsgCheckInteval), 60_000);
});

test('per-miner overrides merge over the defaults; t0 keys accepted', () => {
  const cfg = parseManagerConfig(
    'c.cfg',
    `[Commitment.DefaultPolicy]
EnableBatchPreCommit = true
PreCommitBatchThreshold = 4
PreCommitBatchMaxWait = "60s"
MaxPreCommitFeeCap = "5 nanoFIL"
[Commitment.Miners.t01000]
PreCommitBatchThreshold = 2
[PoSt.Actors.1000]
Sender = "t01000"
StrictCheck = true
`,
  );
  const p = commitmentPolicy(cfg, 1000);
  assert.equal(p.PreCommitBatchThreshold, 2);
  assert.equal(p.EnableBatchPreCommit, true);
  assert.equal(p.PreCommitBatchMaxWait, '1m0s');
  assert.equal(commitmentPolicy(cfg, 2000).PreCommitBatchThreshold, 4);
  assert.equal(postPolicy(cfg, 1000).StrictCheck, true);
  assert.equal(postPolicy(cfg, 2000).StrictCheck, false);
});

test('Chain/Messager Api accept multiaddrs, URLs and TOKEN:multiaddr', () => {
  for (const api of [
    '/ip4/127.0.0.1/tcp/1234',
    '/ip4/127.0.0.1/tcp/1234/http',
    'ws://127.0.0.1:1234/rpc/v1',
    `${TOKEN}:/ip4/1.2.3.4/tcp/1`,
  ])
    parseManagerConfig('c.cfg', `[Chain]\nApi = "${api}"\n`);
});

function problems(text: string): string[] {
  try {
    parseManagerConfig('/home/x/sector-manager.cfg', text);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^\/home\/x\/sector-manager\.cfg: invalid configuration/);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('errors name the key and the reason', () => {
  assert.deepEqual(problems('[SectorManager]\nPrefetch = true\n'), ['SectorManager: unknown key "Prefetch"']);
  assert.deepEqual(problems('[Foo]\n'), ['unknown key "Foo"']);
  assert.match(
    problems('[[SectorManager.Miners]]\nID = "1033"\n')[0]!,
    /^SectorManager\.Miners\[0\]\.ID: expected number/,
  );
  assert.match(
    problems('[[SectorManager.Miners]]\nID = 1033\nMaxNumber = -1\n')[0]!,
    /^SectorManager\.Miners\[0\]\.MaxNumber: must be ≥ 0/,
  );
  assert.deepEqual(problems('[[SectorManager.Miners]]\nID = 1033\nInitNumber = 10\nMaxNumber = 5\n'), [
    'SectorManager.Miners[0].MaxNumber: 5 is below InitNumber 10',
  ]);
  assert.match(
    problems('[PoSt.Actors.1033]\nSender = "t1bad"\n')[0]!,
    /^PoSt\.Actors\.1033\.Sender: bad address "t1bad"/,
  );
  assert.match(
    problems('[Commitment.Miners.1033.Controls]\nPreCommit = "x"\n')[0]!,
    /^Commitment\.Miners\.1033\.Controls\.PreCommit: bad address/,
  );
  assert.match(problems('[Commitment.Miners.abc]\n')[0]!, /"abc" is not a miner id/);
  assert.match(problems('[Chain]\nApi = "localhost:1234"\n')[0]!, /^Chain\.Api: /);
  assert.match(problems('[Chain]\nApi = "/ip4/1.2.3.4/udp/1"\n')[0]!, /^Chain\.Api: invalid multiaddr/);
  assert.match(
    problems('[PoSt.Default]\nMsgCheckInteval = "1 minute"\n')[0]!,
    /^PoSt\.Default\.MsgCheckInteval: bad duration/,
  );
  assert.match(
    problems('[Commitment.DefaultPolicy]\nMaxPreCommitFeeCap = "5 bananas"\n')[0]!,
    /^Commitment\.DefaultPolicy\.MaxPreCommitFeeCap: .*unknown unit/,
  );
  assert.match(
    problems('[PersistedStore]\n[[PersistedStore.Stores]]\nName = "a"\n')[0]!,
    /^PersistedStore\.Stores\[0\]\.Path: missing/,
  );
  assert.match(problems('[SectorManager\n')[0]!, /TOML syntax error at line 1/);
});
