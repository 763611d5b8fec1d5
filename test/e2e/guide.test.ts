/**
 * The deployment guide, word for word, on the devnet (docs/guide-on-devnet.md): the guide's commands in the guide's
 * order, run as the built programs (`dist/cli`, build first), with $HOME a temp dir so the guide's default homes
 * (~/.venus_wallet, ~/.venus-sector-manager) are used, the guide's config snippets with only their placeholders
 * replaced, until two sectors are active and a Window PoSt has landed. It fails if a step needs an input the guide
 * does not have. The devnet is the only thing outside the guide: `venus-devnet init` with the short proving period
 * `npm start` uses, `venus-devnet send` as the faucet.
 *
 * What the test adds, and why (each is in docs/guide-on-devnet.md):
 * - the wallet's config.toml before its first start: a free loopback port and a fast scrypt factor (a shared test
 *   machine: no fixed ports, and the default scrypt factor takes seconds per key);
 * - `--listen=127.0.0.1:<free port>` for the guide's `--listen=0.0.0.0:1789`, and the worker's `[sealer_rpc] url` to
 *   match; `[worker_server]` on loopback and a free port (the guide's worker listens on 0.0.0.0:17890);
 * - the one line an operator adds to the worker: the token header in `[sealer_rpc]`, from `<manager home>/token`.
 *
 * Prints the time from `venus-devnet init` to the first landed Window PoSt.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT, runNode } from './common.js';

const BIN = (p: string) => join(ROOT, 'dist/cli', `${p}.js`);
const MINUTES = 60_000;

const home = mkdtempSync(join(tmpdir(), 'guide-e2e-'));
const daemons = new Set<ChildProcess>();
const logs = new Map<string, string>();

after(() => {
  for (const p of daemons) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  if (!process.env.KEEP_E2E) rmSync(home, { recursive: true, force: true });
});

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extra };
  for (const k of ['VENUS_WALLET_PATH', 'VENUS_SECTOR_MANAGER_PATH', 'VSM_PATH', 'LOG_FORMAT', 'VENUS_ADDRESS_TYPE'])
    delete e[k];
  return e;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `./PROGRAM ARGS` in `cwd` with `input` on stdin; resolves when it exits. */
function cmd(program: string, args: string[], o: { input?: string; cwd?: string; ms?: number } = {}): Promise<Result> {
  return runNode([BIN(program), ...args], env(), o.cwd ?? home, {
    input: o.input ?? '',
    timeoutMs: o.ms ?? 120_000,
    what: `${program} ${args.join(' ')}`,
  });
}

/** `cmd` that must succeed. */
async function ok(program: string, args: string[], o: Parameters<typeof cmd>[2] = {}): Promise<Result> {
  const r = await cmd(program, args, o);
  assert.equal(r.code, 0, `${program} ${args.join(' ')}:\n${r.stderr}`);
  return r;
}

class Background {
  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    readonly logPath: string,
  ) {}

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  async waitFor(re: RegExp, ms: number, from = 0): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this.log().slice(from).match(re);
      if (m) return m;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null)
        throw new Error(`${this.name} exited before ${re}:\n${this.log().slice(-4000)}`);
      if (Date.now() > end)
        throw new Error(`no ${re} in ${this.name}'s log within ${ms} ms:\n${this.log().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** `kill -9 [PID]` */
  kill9(): Promise<void> {
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    process.kill(-this.proc.pid!, 'SIGKILL');
    return gone;
  }
}

/** `nohup ./PROGRAM ARGS > LOG 2>&1 &` (its own process group, so the test can stop it and its children). */
function background(
  program: string,
  args: string[],
  log: string,
  o: { cwd?: string; extraEnv?: NodeJS.ProcessEnv; input?: string } = {},
): Background {
  const logPath = join(o.cwd ?? home, log);
  const fd = openSync(logPath, 'a');
  const p = spawn(process.execPath, [BIN(program), ...args], {
    env: env(o.extraEnv),
    cwd: o.cwd ?? home,
    stdio: ['pipe', fd, fd],
    detached: true,
  });
  closeSync(fd);
  p.stdin!.end(o.input ?? '');
  daemons.add(p);
  p.once('exit', () => daemons.delete(p));
  const b = new Background(`${program} ${args[0] ?? ''}`, p, logPath);
  logs.set(b.name, logPath);
  return b;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The guide's own text, with its placeholders (as the guide prints them).

const GUIDE_CHAIN_MESSAGER = `[Chain]
  Api = "/ip4/<IP_ADDRESS_OF_VENUS>/tcp/<PORT_OF_VENUS>"
  Token = "AUTH_TOKEN_FOR_ACCOUNT_NAME"

[Messager]
  Api = "/ip4/<IP_ADDRESS_OF_VENUS_MESSAGER>/tcp/<PORT_OF_VENUS_MESSAGER>"
  Token = "AUTH_TOKEN_FOR_ACCOUNT_NAME"
`;

const GUIDE_REGISTER_HUB = `[APIRegisterHub]
RegisterAPI = ["/ip4/<IP_ADDRESS_OF_VENUS_GATEWAY>/tcp/45132"]
Token = "<AUTH_TOKEN_FOR_VENUS_WALLET>"
SupportAccounts = ["<ACCOUNT_NAME>"]
`;

const GUIDE_MINERS = `[[SectorManager.Miners]]
    ID = 1033 # miner id, ex, t01033 -> 1033 (leave out "t" and "f")
    InitNumber = 0 # min sid 
    MaxNumber = 10000 # max sid
    Disabled = false # false: allow sealing; true: maintenance only (windowPost)
`;

const GUIDE_CONTROLS = `[Commitment.Miners]
    [Commitment.Miners.1033]
      [Commitment.Miners.1033.Controls]
        PreCommit = "" # Your choice of address
        ProveCommit = "" # Your choice of address
`;

const GUIDE_PERSIST = `[[PersistedStore.Stores]]
    Name = "store-f01033" # name of your choice
    Path = ""  # Absolute path 
`;

const GUIDE_POST = `[PoSt.Actors]
    [PoSt.Actors.1033]
      Sender = "" # Your choice of address
`;

const GUIDE_WORKER_TOML = `# venus-sector-manager API
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
location = "<path/to/local/store1>"

[[store]]
location = "<path/to/local/store2>"

[[store]]
location = "<path/to/local/store3>"

# number of parallel tasks for each phase
[limit]
# number of PC1 in parallel
# pc1 = 1
pc2 = 1
c2 = 1

# path to remote permanent storage
[remote]
path = "<path/to/remote/store>"

# C2 sub processes related
[processors.pc2]
# sub processes
external = true
# [[processors.pc2.subs]]
# [processors.pc2.subs.cgroup]
# cpuset = "24-27"

# [[processors.pc2.subs]]
# [processors.pc2.subs.cgroup]
# cpuset = "28-31"

# C2 sub processes related
[processors.c2]
# sub processes
external = true
# proceessors can be used by sub process, optional if you haven't set cgroup previously
# [[processors.c2.subs]]
# [processors.c2.subs.cgroup]
# cpuset = "32-47"
`;

/** Replaces every placeholder; refuses to leave one (a step that needs an input the guide does not give). */
function fill(text: string, values: Record<string, string>): string {
  let out = text;
  for (const [k, v] of Object.entries(values)) {
    assert.ok(out.includes(k), `placeholder ${k} not in the guide's text`);
    out = out.split(k).join(v);
  }
  assert.doesNotMatch(out, /<[A-Za-z_/0-9.]+>/, 'a placeholder left unfilled');
  return out;
}

/** The short proving period `npm start` uses (FAST_POLICY in src/cluster/options.ts): 12 deadlines × 20 epochs. */
const SHORT_POLICY =
  'wpostChallengeWindow=20,wpostPeriodDeadlines=12,wpostChallengeLookback=10,faultDeclarationCutoff=15';

test('the deployment guide on the devnet: two active sectors and a landed Window PoSt', {
  timeout: 25 * MINUTES,
}, async () => {
  // ----- the devnet (outside the guide): its init prints the proving-period policy
  const devHome = join(home, 'devnet');
  const devPort = await freePort();
  const t0 = Date.now();
  const init = await ok('venus-devnet', [
    '--home',
    devHome,
    'init',
    '--listen',
    `127.0.0.1:${devPort}`,
    '--policy',
    SHORT_POLICY,
  ]);
  assert.match(init.stdout, /proving period 12 deadlines × 20 epochs = 240 epochs .*sector sizes 2KiB, 8MiB, 512MiB/);
  const devnet = background('venus-devnet', ['--home', devHome, 'run'], 'devnet.log');
  await devnet.waitFor(/venus-devnet listening on/, 30_000);
  const st = await ok('venus-devnet', ['--home', devHome, 'status']);
  assert.match(st.stdout, /\nproving period 12 deadlines × 20 epochs = 240 epochs \(4m0s at 1000ms blocks/);
  // snippets.toml: the one token of account "devnet" for the chain, the messager and the gateway
  const snippets = readFileSync(join(devHome, 'snippets.toml'), 'utf8');
  const token = /\[Chain\]\nApi = "[^"]+"\nToken = "([^"]+)"/.exec(snippets)![1]!;
  const account = /SupportAccounts = \["([^"]+)"\]/.exec(snippets)![1]!;
  assert.equal(account, 'devnet');

  // ----- Start venus-wallet
  const walletRepo = join(home, '.venus_wallet');
  mkdirSync(walletRepo, { recursive: true });
  writeFileSync(
    join(walletRepo, 'config.toml'),
    '[API]\nListenAddress = "/ip4/127.0.0.1/tcp/0/http"\n\n[Factor]\nScryptN = 1024\nScryptP = 1\n',
  );
  let wallet = background('venus-wallet', ['run'], 'wallet.log');
  await wallet.waitFor(/start rpc server at/, 30_000);
  const pw = await ok('venus-wallet', ['setpwd'], { input: 'guide-pw\nguide-pw\n' });
  assert.equal(pw.stdout, 'Password set successfully\n');
  const owner = (await ok('venus-wallet', ['new', 'bls'])).stdout.trim();
  const worker = (await ok('venus-wallet', ['new', 'bls'])).stdout.trim();
  assert.match(owner, /^[ft]3[a-z2-7]{84}$/);
  assert.match(worker, /^[ft]3[a-z2-7]{84}$/);
  // the faucet: venus-devnet send
  for (const a of [owner, worker]) {
    const s = await ok('venus-devnet', ['--home', devHome, 'send', a, '1000', '--wait']);
    assert.match(s.stdout, /exit code 0 at height \d+/);
  }
  // [APIRegisterHub]: the devnet is the gateway (one port for everything), the token and account of snippets.toml
  const cfgPath = join(walletRepo, 'config.toml');
  const hub = fill(GUIDE_REGISTER_HUB, {
    '<IP_ADDRESS_OF_VENUS_GATEWAY>': '127.0.0.1',
    '45132': String(devPort),
    '<AUTH_TOKEN_FOR_VENUS_WALLET>': token,
    '<ACCOUNT_NAME>': account,
  });
  const walletCfg = readFileSync(cfgPath, 'utf8');
  assert.match(walletCfg, /\[APIRegisterHub\][\s\S]*?(?=\n\[)/);
  writeFileSync(cfgPath, walletCfg.replace(/\[APIRegisterHub\][\s\S]*?(?=\n\[)/, hub));
  // restart: kill -9 [PID], run again; the restarted wallet is locked until `unlock`
  await wallet.kill9();
  wallet = background('venus-wallet', ['run'], 'wallet.log');
  const from = wallet.log().length;
  await wallet.waitFor(/start rpc server at/, 30_000, from);
  const un = await ok('venus-wallet', ['unlock'], { input: 'guide-pw\n' });
  assert.equal(un.stdout, 'wallet unlock successfully\n');
  assert.equal((await ok('venus-wallet', ['lock-state'])).stdout, 'wallet state: unlocked\n');
  await wallet.waitFor(/connect to server [0-9a-f-]{36}/, 60_000, from);

  // ----- Run venus-sector-manager
  const vsmHome = join(home, '.venus-sector-manager');
  const vinit = await ok('venus-sector-manager', ['--net=forcenet', 'daemon', 'init']);
  assert.match(vinit.stdout, /config written/);
  const vsmCfg = join(vsmHome, 'sector-manager.cfg');
  const services = fill(GUIDE_CHAIN_MESSAGER, {
    '<IP_ADDRESS_OF_VENUS>': '127.0.0.1',
    '<PORT_OF_VENUS>': String(devPort),
    '<IP_ADDRESS_OF_VENUS_MESSAGER>': '127.0.0.1',
    '<PORT_OF_VENUS_MESSAGER>': String(devPort),
    AUTH_TOKEN_FOR_ACCOUNT_NAME: token,
  });
  const defaults = readFileSync(vsmCfg, 'utf8');
  const withServices = defaults
    .replace(/\[Chain\]\n(#.*\n)*/, '')
    .replace(/\[Messager\]\n(#.*\n)*/, '')
    .replace('[PersistedStore]\n', `${services}\n[PersistedStore]\n`);
  writeFileSync(vsmCfg, withServices);

  const create = await ok(
    'venus-sector-manager',
    ['--net=forcenet', 'util', 'miner', 'create', `--from=${owner}`, '--sector-size=2KiB'],
    { ms: 5 * MINUTES },
  );
  const minerAddr = /miner actor: (t0\d+) \(t2[a-z0-9]+\)/.exec(create.stderr)?.[1];
  assert.ok(minerAddr, create.stderr);
  const info = await ok('venus-sector-manager', ['--net=forcenet', 'util', 'miner', 'info', minerAddr]);
  assert.match(info.stdout, new RegExp(`^Miner: ${minerAddr}\\nOwner: t0\\d+\\nWorker: t0\\d+\\n`));
  assert.match(info.stdout, /SectorSize: 2048\nWindowPoStPartitionSectors: 2\n/);
  const id = minerAddr.slice(2).replace(/^0/, '');

  // the guide's blocks: miner, controls, persisted store, PoSt sender
  const persist = join(home, 'persist');
  const miners = fill(GUIDE_MINERS, { '1033': id });
  const controls = fill(GUIDE_CONTROLS, {
    '1033': id,
    'PreCommit = ""': `PreCommit = "${owner}"`,
    'ProveCommit = ""': `ProveCommit = "${owner}"`,
  });
  const store = fill(GUIDE_PERSIST, { '1033': id, 'Path = ""': `Path = "${persist}"` });
  const post = fill(GUIDE_POST, { '1033': id, 'Sender = ""': `Sender = "${owner}"` });
  writeFileSync(
    vsmCfg,
    readFileSync(vsmCfg, 'utf8')
      .replace('[Commitment]\n', `${miners}\n[Commitment]\n`)
      .replace(/\[Chain\]\n/, `${controls}\n[Chain]\n`)
      .replace('[PoSt]\n', `${store}\n[PoSt]\n`)
      .concat(`\n${post}`),
  );

  const vsmPort = await freePort();
  const manager = background(
    'venus-sector-manager',
    ['daemon', 'run', `--listen=127.0.0.1:${vsmPort}`, '--poster=true'],
    'manager.log',
  );
  await manager.waitFor(/daemon running/, 60_000);
  assert.match(manager.log(), /chain node and messager reachable/);

  // ----- Run venus-worker
  const seal = [1, 2, 3].map((n) => join(home, 'seal', `seal_0${n}`));
  const si = await ok('venus-worker', ['store', 'seal-init', '-l', ...seal]);
  assert.match(si.stdout + si.stderr, /seal store initialized/);
  for (const s of seal) assert.ok(existsSync(join(s, '.holder')));
  mkdirSync(persist, { recursive: true });
  await ok('venus-worker', ['store', 'file-init', '-l', persist]);
  assert.ok(existsSync(join(persist, '.holder')));

  const workerDir = join(home, 'worker');
  mkdirSync(workerDir, { recursive: true });
  const mgrToken = readFileSync(join(vsmHome, 'token'), 'utf8').trim();
  const toml = fill(GUIDE_WORKER_TOML, {
    '1789': String(vsmPort),
    '<path/to/local/store1>': seal[0]!,
    '<path/to/local/store2>': seal[1]!,
    '<path/to/local/store3>': seal[2]!,
    '<path/to/remote/store>': persist,
  })
    // the line an operator adds once the manager requires tokens (docs/guide-on-devnet.md)
    .replace(
      `url = "ws://127.0.0.1:${vsmPort}/rpc/v0"\n`,
      `url = "ws://127.0.0.1:${vsmPort}/rpc/v0"\nheaders = { Authorization = "Bearer ${mgrToken}" }\n`,
    )
    // the test machine only: loopback and a free port for the worker's control API (the guide's is 0.0.0.0:17890)
    .concat('\n[worker_server]\nhost = "127.0.0.1"\nport = 0\n');
  writeFileSync(join(workerDir, 'venus-worker.toml'), toml);
  const w = background('venus-worker', ['daemon', '--config=./venus-worker.toml'], 'worker.log', {
    cwd: workerDir,
    extraEnv: { RUST_LOG: 'debug', TMPDIR: './', FIL_PROOFS_PARENT_CACHE: join(home, 'parents') },
  });
  await w.waitFor(/venus-worker running/, 60_000);

  // ----- two active sectors and a landed Window PoSt
  const status = async () =>
    JSON.parse((await ok('venus-devnet', ['--home', devHome, 'status', '--json'])).stdout) as {
      Height: number;
      Miners: { Miner: string; Sectors: { Active: number }; LastWindowPoStEpoch: number | null }[];
    };
  let firstPoSt: number | undefined;
  try {
    await until(
      'two active sectors and a landed Window PoSt',
      async () => {
        if (firstPoSt === undefined && /window post landed/.test(manager.log())) firstPoSt = Date.now();
        const s = await status();
        const m = s.Miners.find((x) => x.Miner === minerAddr);
        return m && m.Sectors.Active >= 2 && (m.LastWindowPoStEpoch ?? 0) > 0 && firstPoSt !== undefined
          ? m
          : undefined;
      },
      20 * MINUTES,
    );
  } catch (err) {
    for (const [name, p] of logs)
      process.stderr.write(`\n----- ${name} (${p})\n${readFileSync(p, 'utf8').slice(-6000)}\n`);
    throw err;
  }
  assert.match(manager.log(), /window post landed/);
  assert.doesNotMatch(manager.log(), /ERROR\s+poster/, 'no Window PoSt step failed');
  const seconds = Math.round((firstPoSt! - t0) / 1000);
  process.stdout.write(`# guide e2e: venus-devnet init → first landed Window PoSt in ${seconds} s\n`);
});
