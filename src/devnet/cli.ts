/**
 * venus-devnet commands: init, run, send, status, token create; `client …` lives in client-cli.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { FullNodeAPI } from '../api/full.js';
import { UserError } from '../common/cli.js';
import { parseDuration } from '../common/config.js';
import { type KeyType, parseAddress, parseFIL, setDefaultNetwork } from '../fil/index.js';
import { createClient, isPerm, PERMS } from '../rpc/index.js';
import { DevnetAPI, type DevnetStatus } from './api.js';
import { registerClientCommands } from './client-cli.js';
import { createHomeToken, initHome, loadSettings, resolveHome } from './home.js';
import { describeProvingPolicy, type PolicyOverrides, parseSectorSize, policy2k } from './policy.js';
import { DevnetService } from './service.js';
import { ProofsVerifier } from './verifier.js';

interface Globals {
  home: string;
}

const homeOf = (cmd: Command) => resolveHome((cmd.optsWithGlobals() as Globals).home);

/** Policy overrides from "key=value,key=value" (epoch constants of the 2k policy, e.g. wpostChallengeWindow=10). */
export function parsePolicyOverrides(spec: string): PolicyOverrides {
  const base = policy2k() as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [k, v] = part.split('=').map((s) => s.trim());
    if (!k || v === undefined) throw new UserError(`--policy: "${part}" is not key=value`);
    if (!(k in base) || k === 'wpostProvingPeriod' || k === 'sectorSizes' || k === 'networkName') {
      throw new UserError(`--policy: unknown or fixed key "${k}"`);
    }
    if (typeof base[k] === 'bigint') out[k] = BigInt(v);
    else if (typeof base[k] === 'number' && /^-?\d+$/.test(v)) out[k] = Number(v);
    else throw new UserError(`--policy: ${k} needs an integer, got "${v}"`);
  }
  return out as PolicyOverrides;
}

/** An RPC client to the running devnet of this home (address from <home>/api, admin token from <home>/token). */
function clientFor(home: string) {
  const apiFile = join(home, 'api');
  if (!existsSync(apiFile)) throw new UserError(`${home}/api not found: is venus-devnet running (venus-devnet run)?`);
  const ma = readFileSync(apiFile, 'utf8').trim();
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(ma);
  if (!m) throw new UserError(`${apiFile}: cannot read "${ma}"`);
  const token = readFileSync(join(home, 'token'), 'utf8').trim();
  return { url: `http://${m[1]}:${m[2]}/rpc/v1`, token };
}

export function registerDevnetCommands(program: Command): void {
  program
    .command('init')
    .description('create genesis: funded accounts, auth secret, config snippets for the other programs')
    .option('--network <name>', 'network (2k)', '2k')
    .option('--block-time <duration>', 'time between epochs (Go duration, ≥ 50ms)', '1s')
    .option('--sector-sizes <list>', 'accepted sector sizes', '2KiB,8MiB,512MiB')
    .option('--listen <addr>', 'where `run` listens (host:port or multiaddr)', '127.0.0.1:1234')
    .option('--accounts <types>', 'key types of the funded accounts', 'bls,bls,secp256k1')
    .option('--balance <FIL>', 'balance of each account', '1000000')
    .option(
      '--policy <key=value,…>',
      'override 2k policy epochs, e.g. a short proving period: wpostChallengeWindow=20,wpostPeriodDeadlines=12,wpostChallengeLookback=5,faultDeclarationCutoff=10',
    )
    .action(async (o, cmd: Command) => {
      const home = homeOf(cmd);
      let blockTimeMs: number;
      try {
        blockTimeMs = parseDuration(o.blockTime);
      } catch (e) {
        throw new UserError(`--block-time: ${(e as Error).message}`);
      }
      const sectorSizes = String(o.sectorSizes)
        .split(',')
        .map((s) => {
          try {
            return parseSectorSize(s);
          } catch (e) {
            throw new UserError(`--sector-sizes: ${(e as Error).message}`);
          }
        });
      const accounts = String(o.accounts)
        .split(',')
        .map((t) => t.trim());
      for (const t of accounts) {
        if (t !== 'bls' && t !== 'secp256k1')
          throw new UserError(`--accounts: unknown key type "${t}" (bls, secp256k1)`);
      }
      const res = await initHome(
        {
          home,
          network: o.network,
          blockTimeMs,
          sectorSizes,
          listen: o.listen,
          accounts: accounts as KeyType[],
          balance: parseFIL(String(o.balance)),
          policy: o.policy ? parsePolicyOverrides(o.policy) : {},
        },
        new ProofsVerifier(),
      ).catch((e: Error) => {
        throw new UserError(e.message);
      });
      process.stdout.write(
        `devnet initialised in ${res.home}\n\nfunded accounts (keys importable with venus-wallet import):\n`,
      );
      for (const a of res.settings.accounts) process.stdout.write(`  ${a.address}  ${a.type}  ${a.keyFile}\n`);
      const c = res.settings.client;
      if (c) {
        process.stdout.write(
          `\ndeal client (funded, ${formatDatacap(BigInt(c.datacap))} datacap): ${c.address}  ${c.type}  ${c.keyFile}\n`,
        );
      }
      process.stdout.write(`\n${describeProvingPolicy(res.policy, res.blockTimeMs)}\n`);
      process.stdout.write(`\n${res.snippets}`);
    });

  program
    .command('run')
    .description('serve chain, messager, gateway and auth')
    .option('--listen <addr>', 'override the listen address of devnet.json')
    .option('--insecure-accept-proofs', 'accept any non-empty seal/PoSt proof (tests of everything else only)')
    .option('--insecure-accept-post', 'verify seal proofs in full, accept any non-empty Window PoSt')
    .action(async (o, cmd: Command) => {
      const home = homeOf(cmd);
      loadSettings(home);
      const svc = await DevnetService.start({
        home,
        listen: o.listen,
        insecureAcceptProofs: !!o.insecureAcceptProofs,
        insecureAcceptPoSt: !!o.insecureAcceptPost,
      }).catch((e: Error) => {
        throw new UserError(e.message);
      });
      process.stderr.write(`venus-devnet listening on ${svc.multiaddr}; API info: ${svc.token}:${svc.multiaddr}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          svc.stop().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  program
    .command('send')
    .description('send FIL from a genesis account')
    .argument('<to>', 'recipient address')
    .argument('<amount>', 'amount, e.g. 10 or "0.5 FIL" (FIL by default)')
    .option('--from <addr>', 'sender (a genesis account; default: the first)')
    .option('--wait', 'wait until the message is executed')
    .action(async (to: string, amount: string, o, cmd: Command) => {
      const home = homeOf(cmd);
      setDefaultNetwork('t');
      const settings = loadSettings(home);
      let value: bigint;
      try {
        parseAddress(to);
        value = parseFIL(amount);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
      const from = o.from ?? settings.accounts[0]?.address;
      if (!from) throw new UserError('no sender: pass --from');
      const full = createClient(FullNodeAPI, { ...clientFor(home), timeoutMs: 0 });
      try {
        const sm = await full.MpoolPushMessage(
          {
            Version: 0,
            To: to,
            From: from,
            Nonce: 0,
            Value: value.toString(),
            GasLimit: 0,
            GasFeeCap: '0',
            GasPremium: '0',
            Method: 0,
            Params: null,
          },
          null,
        );
        const cid = sm.CID!;
        process.stdout.write(`${cid['/']}\n`);
        if (o.wait) {
          const r = await full.StateWaitMsg(cid, 0, -1, true);
          process.stdout.write(`exit code ${r?.Receipt.ExitCode} at height ${r?.Height}\n`);
        }
      } catch (e) {
        throw new UserError((e as Error).message);
      } finally {
        await full.close();
      }
    });

  program
    .command('status')
    .description('chain and miner status')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd: Command) => {
      const home = homeOf(cmd);
      const api = createClient(DevnetAPI, clientFor(home));
      let s: DevnetStatus;
      try {
        s = await api.Status();
      } catch (e) {
        throw new UserError(`cannot reach the devnet: ${(e as Error).message}`);
      } finally {
        await api.close();
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(s)}\n`);
        return;
      }
      process.stdout.write(
        `height ${s.Height}  network ${s.NetworkName} (nv${s.NetworkVersion})  block time ${s.BlockTimeMs}ms  base fee ${s.BaseFee}  mempool ${s.MempoolSize}\n`,
      );
      if (s.Policy) process.stdout.write(`${describeProvingPolicy(s.Policy, s.BlockTimeMs)}\n`);
      for (const m of s.Miners) {
        const t = m.Sectors;
        process.stdout.write(
          `miner ${m.Miner}  power ${m.RawBytePower} B  sectors active ${t.Active} faulty ${t.Faulty} recovering ${t.Recovering} unproven ${t.Unproven} precommitted ${t.PreCommitted}  deadline ${m.CurrentDeadline.Index} [${m.CurrentDeadline.Open}, ${m.CurrentDeadline.Close})  last PoSt ${m.LastWindowPoStEpoch ?? '-'}\n`,
        );
      }
    });

  const token = program.command('token').description('tokens as venus-auth issues them');
  token
    .command('create')
    .description('print a new token for an account')
    .requiredOption('--name <name>', 'account name (the gateway routes sign requests by it)')
    .option('--perm <perm>', `permission (${PERMS.join(', ')})`, 'read')
    .option('--ext <text>', 'free text stored in the token', '')
    .action(async (o, cmd: Command) => {
      if (!isPerm(o.perm)) throw new UserError(`--perm must be one of ${PERMS.join(', ')}, not "${o.perm}"`);
      const t = await createHomeToken(homeOf(cmd), o.name, o.perm, o.ext).catch((e: Error) => {
        throw new UserError(e.message);
      });
      process.stdout.write(`${t}\n`);
    });

  // client import / list / retrieve (client-cli.ts)
  registerClientCommands(program);
}

/** Datacap in the largest whole binary unit ("64 GiB"). */
function formatDatacap(bytes: bigint): string {
  for (const [unit, shift] of [
    ['TiB', 40n],
    ['GiB', 30n],
    ['MiB', 20n],
    ['KiB', 10n],
  ] as const) {
    if (bytes >= 1n << shift && bytes % (1n << shift) === 0n) return `${bytes >> shift} ${unit}`;
  }
  return `${bytes} bytes`;
}
