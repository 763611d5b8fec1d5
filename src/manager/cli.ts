/**
 * The venus-sector-manager commands (deployment guide; docs/spec/sealer-api.md §Programs and commands):
 *
 *   daemon init                                   writes the commented default sector-manager.cfg and the API
 *                                                 tokens (<home>/token admin, <home>/worker-token for workers)
 *   daemon run [--listen HOST:PORT] [--poster]    the daemon (tokens required; --insecure-no-auth on loopback only)
 *   util miner create --from … --sector-size …    CreateMiner through the messager, waits, prints the miner
 *   util miner info ID                            the miner's table
 *   util sealer sectors list|state|abort|restore|resend-pre|resend-prove
 *   util sealer proving info|deadlines|deadline IDX|check IDX
 *   util worker list|token NAME, util storage list|find
 *
 * `util miner …` and `util sealer proving info|deadlines|deadline` talk to the chain (and messager) named in
 * sector-manager.cfg; the others talk to the running daemon at `--listen` (default 127.0.0.1:1789).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { TipSetKey } from '../api/full.js';
import { MESSAGE_STATE_NAMES, type MessageRecord, MessageState } from '../api/messager.js';
import {
  bytes32ToJson,
  ManagerAPI,
  type SectorID,
  type SectorState,
  SUBMIT_RESULT_NAMES,
  sectorName,
} from '../api/sealer.js';
import { UserError } from '../common/cli.js';
import { expandHome } from '../common/config.js';
import { logger } from '../common/log.js';
import {
  BitField,
  cidToCommD,
  cidToCommR,
  formatFIL,
  fromBase64,
  messageCid,
  parseAddress,
  setDefaultNetwork,
} from '../fil/index.js';
import { formatSectorSize, POST_PROOFS, parseSectorSize, sealProofFor } from '../proofs/index.js';
import { createClient, parseListenAddress } from '../rpc/index.js';
import { loadOrInitManagerAuth, mintWorkerToken, workerTomlHint } from './auth.js';
import { minerAddr } from './chain.js';
import { buildMessage, messageJson } from './commit/msg.js';
import { initHome, loadManagerConfig } from './config.js';
import { configPath, connectServices, networkPrefix, startDaemon } from './daemon.js';
import { initExtProverConfig } from './ext-prover.js';
import { checkMinerSectorSize } from './miner-create-check.js';
import { decodeCreateMinerReturn, encodeCreateMiner, POWER_ACTOR, PowerMethod } from './params.js';
import { formatStoreList } from './stores.js';

const log = logger('sealer');

interface Globals {
  home: string;
  net: string;
}

function globals(cmd: Command): Globals {
  const o = cmd.optsWithGlobals() as { home?: string; net?: string };
  const home = o.home ?? process.env.VENUS_SECTOR_MANAGER_PATH ?? process.env.VSM_PATH ?? '~/.venus-sector-manager';
  return { home: expandHome(home), net: o.net ?? 'mainnet' };
}

function parseBool(v: string | boolean | undefined): boolean {
  if (v === undefined || v === true) return true;
  if (v === false) return false;
  const s = String(v).toLowerCase();
  if (['true', '1', 'yes', 't'].includes(s)) return true;
  if (['false', '0', 'no', 'f'].includes(s)) return false;
  throw new UserError(`expected true or false, not "${v}"`);
}

/** A miner given as t01033, f01033 or 1033. */
export function parseMinerId(s: string): number {
  const m = /^(?:[ft]0)?(\d+)$/.exec(String(s).trim());
  if (!m || Number(m[1]) <= 0) throw new UserError(`"${s}" is not a miner id (t01033 or 1033)`);
  return Number(m[1]);
}

function parseSectorNumber(s: string): number {
  if (!/^\d+$/.test(String(s))) throw new UserError(`"${s}" is not a sector number`);
  return Number(s);
}

function loadCfg(g: Globals) {
  setDefaultNetwork(networkPrefix(g.net));
  return loadManagerConfig(configPath(g.home));
}

/** The daemon's API for the CLI tools, with the repo's admin token when there is one. */
function managerClient(listen: string, home: string) {
  const { host, port } = parseListenAddress(listen);
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host;
  const tokenFile = join(home, 'token');
  const token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined;
  return createClient(ManagerAPI, {
    url: `http://${h}:${port}/rpc/v0`,
    timeoutMs: 120_000,
    ...(token ? { token } : {}),
  });
}

function withListen(cmd: Command): Command {
  return cmd.option('--listen <addr>', 'address of the running daemon', '127.0.0.1:1789');
}

async function withManager<T>(cmd: Command, fn: (api: ReturnType<typeof managerClient>) => Promise<T>): Promise<T> {
  const o = cmd.optsWithGlobals() as { listen: string };
  const api = managerClient(o.listen, globals(cmd).home);
  try {
    return await fn(api);
  } catch (err) {
    if (/ECONNREFUSED|fetch failed/.test((err as Error).message))
      throw new UserError(
        `cannot reach the sector-manager at ${o.listen}: is \`daemon run\` running? (${(err as Error).message})`,
      );
    throw err;
  } finally {
    await api.close();
  }
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

const out = (s: string) => process.stdout.write(s);

// -----------------------------------------------------------------------------------------------------------------

export function registerManagerCommands(program: Command): void {
  const daemon = program.commands.find((c) => c.name() === 'daemon') ?? program.command('daemon');
  daemon.description('init and run the daemon');

  daemon
    .command('init')
    .description('write sector-manager.cfg (every key commented, as in the guide) and the API tokens')
    .action(async function (this: Command) {
      const g = globals(this);
      const r = initHome(g.home);
      initExtProverConfig(g.home);
      out(r.written ? `config written: ${r.file}\n` : `config exists, left unchanged: ${r.file}\n`);
      const auth = await loadOrInitManagerAuth(g.home);
      out(
        `API tokens: ${auth.tokenPath} (admin: the CLI and the dashboard), ${auth.workerTokenPath} (write: workers)\n` +
          `every worker needs it in its venus-worker.toml:\n${workerTomlHint(auth.workerTokenPath)}\n` +
          'or a token bound to that worker and its sectors: venus-sector-manager util worker token <its [instance] name>\n',
      );
    });

  daemon
    .command('run')
    .description('run the daemon: the worker API at /rpc/v0, and Window PoSt with --poster')
    .option(
      '--listen <addr>',
      'listen address (host:port, :port or a multiaddr); 0.0.0.0:1789 or :1789 for every interface',
      '127.0.0.1:1789',
    )
    .addOption(new Option('--poster [enabled]', 'run Window PoSt for the configured miners').argParser(parseBool))
    .addOption(
      new Option('--ext-prover [enabled]', 'Window PoSt by the external processors of <home>/ext-prover.cfg').argParser(
        parseBool,
      ),
    )
    .addOption(
      new Option(
        '--require-token [enabled]',
        'every API call needs a token signed with the repo secret (the default; workers: [sealer_rpc] headers)',
      ).argParser(parseBool),
    )
    .option('--insecure-no-auth', 'serve the API without tokens (refused unless --listen is a loopback address)')
    .action(async function (this: Command) {
      const g = globals(this);
      const o = this.opts() as {
        listen: string;
        poster?: boolean;
        extProver?: boolean;
        requireToken?: boolean;
        insecureNoAuth?: boolean;
      };
      const d = await startDaemon({
        home: g.home,
        listen: o.listen,
        poster: o.poster === true,
        extProver: o.extProver === true,
        ...(o.requireToken !== undefined ? { requireToken: o.requireToken } : {}),
        insecureNoAuth: o.insecureNoAuth === true,
        net: g.net,
      });
      await new Promise<void>((resolve) => {
        const stop = () => {
          log.info('stopping');
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void d.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  const util = program.commands.find((c) => c.name() === 'util') ?? program.command('util');
  util.description('operator tools');
  registerMiner(util);
  registerSealer(util);
  registerWorker(util);
  registerStorage(util);
}

// -----------------------------------------------------------------------------------------------------------------
// util miner

function registerMiner(util: Command): void {
  const miner = util.command('miner').description('miner actors');

  miner
    .command('info')
    .description('show a miner (owner, worker, controls, sector size)')
    .argument('<miner>', 'miner address, e.g. t01033')
    .action(async function (this: Command, m: string) {
      const g = globals(this);
      const id = parseMinerId(m);
      const { chain, messager } = connectServices(loadCfg(g));
      try {
        const i = await chain.StateMinerInfo(minerAddr(id), null);
        const lines = [
          `Miner: ${minerAddr(id)}`,
          `Owner: ${i.Owner}`,
          `Worker: ${i.Worker}`,
          `NewWorker: ${i.NewWorker}`,
          `Controls(${(i.ControlAddresses ?? []).length}):`,
          ...(i.ControlAddresses ?? []).map((a) => `\t${a}`),
          `WokerChangeEpoch: ${i.WorkerChangeEpoch}`,
          ...(i.PeerId ? [`PeerID: ${i.PeerId}`] : []),
          `Multiaddrs(${(i.Multiaddrs ?? []).length}):`,
          ...(i.Multiaddrs ?? []).map((a) => `\t${a}`),
          `SectorSize: ${i.SectorSize}`,
          `WindowPoStPartitionSectors: ${i.WindowPoStPartitionSectors}`,
        ];
        out(`${lines.join('\n')}\n`);
      } finally {
        await chain.close();
        await messager.close();
      }
    });

  miner
    .command('create')
    .description('create a miner actor: CreateMiner through the messager, then print the new miner id')
    .requiredOption('--from <address>', 'wallet address sending the CreateMiner message')
    .option('--owner <address>', 'owner (default: the account actor of --from)')
    .option('--worker <address>', 'worker (default: the owner)')
    .requiredOption('--sector-size <size>', 'sector size: 2KiB, 8MiB, 512MiB, 32GiB, 64GiB')
    .option('--peer <id>', 'libp2p peer id of the miner')
    .option('--multiaddr <addr...>', 'libp2p addresses of the miner')
    .option('--exid <id>', 'extra id to make the message id unique (re-running with the same flags resumes waiting)')
    .option('--deposit-margin-factor <f>', 'multiply the creation deposit by this', '1.01')
    .action(async function (this: Command) {
      const g = globals(this);
      await createMiner(g, this.opts() as CreateMinerOptions);
    });
}

/** `util miner create`'s options. */
interface CreateMinerOptions {
  from: string;
  owner?: string;
  worker?: string;
  sectorSize: string;
  peer?: string;
  multiaddr?: string[];
  exid?: string;
  depositMarginFactor: string;
}

async function createMiner(g: Globals, o: CreateMinerOptions): Promise<void> {
  const cfg = loadCfg(g);
  let size: number;
  try {
    size = parseSectorSize(o.sectorSize);
  } catch (err) {
    throw new UserError(`--sector-size: ${(err as Error).message}`);
  }
  const sealProof = sealProofFor(size, 'V1_1');
  const postProof = sealProof.windowPostProof;
  const addr = (s: string, what: string) => {
    try {
      return parseAddress(s);
    } catch (err) {
      throw new UserError(`${what}: bad address "${s}": ${(err as Error).message}`);
    }
  };
  const from = addr(o.from, '--from');
  const margin = Number(o.depositMarginFactor);
  if (!Number.isFinite(margin) || margin < 1) throw new UserError('--deposit-margin-factor must be a number ≥ 1');
  const { chain, messager } = connectServices(cfg);
  try {
    const params = await chain.StateGetNetworkParams();
    checkMinerSectorSize(params, size, sealProof.id);
    setDefaultNetwork(networkPrefix(params.NetworkName));
    const fromId = await chain.StateLookupID(from.toString(), null);
    const owner = o.owner ? addr(o.owner, '--owner') : parseAddress(fromId);
    const worker = o.worker ? addr(o.worker, '--worker') : owner;
    const multiaddrs = (o.multiaddr ?? []).map((m) => new TextEncoder().encode(m));
    const peer = o.peer ? new TextEncoder().encode(o.peer) : new Uint8Array(0);
    let deposit = 0n;
    try {
      const d = BigInt(
        await (
          chain as unknown as { StateMinerCreationDeposit(t: TipSetKey): Promise<string> }
        ).StateMinerCreationDeposit(null),
      );
      deposit = (d * BigInt(Math.round(margin * 1000))) / 1000n;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'StateMinerCreationDeposit unavailable; sending no deposit');
    }
    const msg = buildMessage({
      from: from.toString(),
      to: POWER_ACTOR,
      method: PowerMethod.CreateMiner,
      params: encodeCreateMiner({ owner, worker, windowPoStProofType: postProof, peer, multiaddrs }),
      value: deposit,
    });
    const mid = `${messageCid(msg).toString()}${o.exid ? `-${o.exid}` : ''}`;
    const fields = { size: formatSectorSize(size), from: from.toString(), actor: fromId };
    const rmid = await messager.PushMessageWithId(mid, messageJson(msg), null);
    if (rmid !== mid) log.warn(`mcid not equal to recv id: ${mid} != ${rmid}`);
    const mlog = log.child({ ...fields, mid: rmid });
    if (deposit > 0n) mlog.info({ deposit: formatFIL(deposit) }, 'creation deposit');
    const pollMs = Math.min(30_000, Math.max(1000, params.BlockDelaySecs * 1000));
    let rec: MessageRecord;
    for (;;) {
      mlog.info('wait for message receipt');
      await new Promise((r) => setTimeout(r, pollMs));
      try {
        rec = await messager.GetMessageByUid(rmid);
      } catch (err) {
        mlog.warn(`GetMessageByUid: ${(err as Error).message}`);
        continue;
      }
      // a replaced message (NonceConflictMsg) carries its replacement's receipt: followed as on chain (damocles)
      if (rec.State === MessageState.OnChainMsg || (rec.State === MessageState.NonceConflictMsg && rec.Receipt)) break;
      if (rec.State === MessageState.FailedMsg || rec.State === MessageState.NonceConflictMsg)
        throw new UserError(`CreateMiner message ${rmid} failed in the messager: ${rec.ErrorMsg || 'no reason given'}`);
      mlog.info(`msg state: ${MESSAGE_STATE_NAMES[rec.State] ?? rec.State}`);
    }
    const landed = mlog.child({ smcid: rec.SignedCid?.['/'], height: rec.Height });
    landed.info('message landed on chain');
    const receipt = rec.Receipt;
    if (receipt?.ExitCode !== 0)
      throw new UserError(
        `CreateMiner message ${rmid} failed on chain with exit code ${receipt?.ExitCode} at height ${rec.Height}`,
      );
    const ret = decodeCreateMinerReturn(fromBase64(receipt.Return ?? '', 'Receipt.Return'));
    landed.info(`miner actor: ${ret.idAddress.toString()} (${ret.robustAddress.toString()})`);
  } finally {
    await chain.close();
    await messager.close();
  }
}

// -----------------------------------------------------------------------------------------------------------------
// util sealer

function stateOf(s: SectorState): string {
  if (s.AbortReason) return 'Aborted';
  if (s.Finalized) return 'Finalized';
  return s.LatestState?.StateChange.Next ?? 'Allocated';
}

function registerSealer(util: Command): void {
  const sealer = util.command('sealer').description('sectors and proving');
  const sectors = sealer.command('sectors').description('sector states in the manager');

  withListen(sectors.command('list').description('list sectors being sealed (--offline: finalized and aborted)'))
    .option('--offline', 'list finalized and aborted sectors')
    .option('--miner <id>', 'only this miner')
    .action(async function (this: Command) {
      const o = this.opts() as { offline?: boolean; miner?: string };
      const only = o.miner ? parseMinerId(o.miner) : undefined;
      await withManager(this, async (api) => {
        const list = ((await api.ListSectors(o.offline ? 'offline' : 'online', 0)) ?? []).filter(
          (s) => only === undefined || s.ID.Miner === only,
        );
        const rows = [['Sector', 'Proof', 'State', 'Worker', 'Ticket', 'Seed', 'PreCommit', 'ProveCommit', 'Note']];
        for (const s of list) {
          rows.push([
            sectorName(s.ID),
            String(s.SectorType),
            stateOf(s),
            s.LatestState ? `${s.LatestState.Worker.Instance}:${s.LatestState.Worker.Location}` : '-',
            s.Ticket ? String(s.Ticket.Epoch) : '-',
            s.Seed ? String(s.Seed.Epoch) : '-',
            s.MessageInfo.PreCommitCid?.['/']
              ? 'sent'
              : s.Pre
                ? s.MessageInfo.NeedSend
                  ? 'queued'
                  : 'submitted'
                : '-',
            s.MessageInfo.CommitCid?.['/'] ? 'sent' : s.Proof ? (s.MessageInfo.NeedSend ? 'queued' : 'submitted') : '-',
            s.AbortReason || s.SendError || s.LatestState?.Failure?.Desc || '',
          ]);
        }
        out(table(rows));
        out(`${list.length} sector(s)\n`);
      });
    });

  withListen(sectors.command('state').description('show one sector state').argument('<miner>').argument('<number>'))
    .option('--offline', 'look in the finalized/aborted sectors')
    .action(async function (this: Command, m: string, n: string) {
      const sid = { Miner: parseMinerId(m), Number: parseSectorNumber(n) };
      const o = this.opts() as { offline?: boolean };
      await withManager(this, async (api) => {
        const s = o.offline ? await api.FindSector('offline', sid) : await api.FindSectorInAllStates(sid);
        if (!s) throw new UserError(`${sectorName(sid)} not found`);
        out(`${JSON.stringify(s, null, 2)}\n`);
      });
    });

  withListen(
    sectors
      .command('abort')
      .description('abort a sector being sealed (its worker gives up on it)')
      .argument('<miner>')
      .argument('<number>'),
  )
    .option('--really-do-it', 'confirm')
    .action(async function (this: Command, m: string, n: string) {
      const sid = { Miner: parseMinerId(m), Number: parseSectorNumber(n) };
      if (!(this.opts() as { reallyDoIt?: boolean }).reallyDoIt)
        throw new UserError(`this aborts ${sectorName(sid)}; add --really-do-it to confirm`);
      await withManager(this, async (api) => {
        await api.ReportAborted(sid, 'aborted via CLI');
        out(`${sectorName(sid)} aborted\n`);
      });
    });

  withListen(
    sectors
      .command('restore')
      .description('bring a finalized sector back online')
      .argument('<miner>')
      .argument('<number>'),
  )
    .option('--force', 'also restore an aborted sector')
    .action(async function (this: Command, m: string, n: string) {
      const sid = { Miner: parseMinerId(m), Number: parseSectorNumber(n) };
      await withManager(this, async (api) => {
        await api.RestoreSector(sid, (this.opts() as { force?: boolean }).force === true);
        out(`${sectorName(sid)} restored\n`);
      });
    });

  for (const kind of ['pre', 'prove'] as const) {
    withListen(
      sectors
        .command(`resend-${kind}`)
        .description(kind === 'pre' ? 'send the PreCommit of a sector again' : 'send the ProveCommit of a sector again')
        .argument('<miner>')
        .argument('<number>'),
    ).action(async function (this: Command, m: string, n: string) {
      const sid = { Miner: parseMinerId(m), Number: parseSectorNumber(n) };
      await withManager(this, async (api) => {
        const s = await api.FindSector('online', sid);
        if (!s) throw new UserError(`${sectorName(sid)} is not being sealed`);
        if (s.MessageInfo.NeedSend) throw new UserError(`${sectorName(sid)} is still waiting to be sent`);
        const r = await resend(api, sid, s, kind);
        out(`${SUBMIT_RESULT_NAMES[r.Res] ?? r.Res}${r.Desc ? `: ${r.Desc}` : ''}\n`);
      });
    });
  }

  registerProving(sealer);
}

async function resend(api: ReturnType<typeof managerClient>, sid: SectorID, s: SectorState, kind: 'pre' | 'prove') {
  if (kind === 'pre') {
    if (!s.Pre) throw new UserError(`${sectorName(sid)} has no PreCommit to resend`);
    return api.SubmitPreCommit(
      { ID: sid, ProofType: s.SectorType },
      {
        CommR: bytes32ToJson(cidToCommR(s.Pre.CommR)),
        CommD: bytes32ToJson(cidToCommD(s.Pre.CommD)),
        Ticket: s.Pre.Ticket,
      },
      true,
    );
  }
  if (!s.Proof) throw new UserError(`${sectorName(sid)} has no proof to resend`);
  return api.SubmitProof(sid, s.Proof, true);
}

function registerProving(sealer: Command): void {
  const proving = sealer.command('proving').description('Window PoSt state of a miner');
  const minerOpt = (c: Command) => c.option('--miner <id>', 'the miner (default: the only one configured)');

  const pickMiner = (g: Globals, m?: string): number => {
    if (m) return parseMinerId(m);
    const cfg = loadCfg(g);
    const ids = cfg.SectorManager.Miners.map((x) => x.ID);
    if (ids.length !== 1) throw new UserError('more than one (or no) miner configured: use --miner');
    return ids[0]!;
  };

  const chainOf = (g: Globals) => connectServices(loadCfg(g));

  minerOpt(proving.command('info').description('current proving period and deadline')).action(async function (
    this: Command,
  ) {
    const g = globals(this);
    const miner = pickMiner(g, (this.opts() as { miner?: string }).miner);
    const { chain, messager } = chainOf(g);
    try {
      const d = await chain.StateMinerProvingDeadline(minerAddr(miner), null);
      const parts = (await chain.StateMinerPartitions(minerAddr(miner), d.Index, null)) ?? [];
      const count = (f: 'AllSectors' | 'FaultySectors' | 'RecoveringSectors' | 'ActiveSectors') =>
        parts.reduce((a, p) => a + BitField.fromJSON(p[f]).count(), 0);
      out(
        [
          `Miner: ${minerAddr(miner)}`,
          `Current Epoch:           ${d.CurrentEpoch}`,
          `Proving Period Boundary: ${d.PeriodStart % d.WPoStProvingPeriod}`,
          `Proving Period Start:    ${d.PeriodStart}`,
          `Next Period Start:       ${d.PeriodStart + d.WPoStProvingPeriod}`,
          '',
          `Deadline Index:       ${d.Index}`,
          `Deadline Sectors:     ${count('AllSectors')}`,
          `Deadline Faulty:      ${count('FaultySectors')}`,
          `Deadline Recovering:  ${count('RecoveringSectors')}`,
          `Deadline Open:        ${d.Open}`,
          `Deadline Close:       ${d.Close}`,
          `Deadline Challenge:   ${d.Challenge}`,
          `Deadline FaultCutoff: ${d.FaultCutoff}`,
          '',
        ].join('\n'),
      );
    } finally {
      await chain.close();
      await messager.close();
    }
  });

  minerOpt(proving.command('deadlines').description('every deadline: partitions, sectors, faults')).action(
    async function (this: Command) {
      const g = globals(this);
      const miner = pickMiner(g, (this.opts() as { miner?: string }).miner);
      const { chain, messager } = chainOf(g);
      try {
        const d = await chain.StateMinerProvingDeadline(minerAddr(miner), null);
        const dls = await chain.StateMinerDeadlines(minerAddr(miner), null);
        const rows = [['deadline', 'open', 'partitions', 'sectors (faults)', 'proven partitions']];
        for (let i = 0; i < dls.length; i++) {
          const parts = (await chain.StateMinerPartitions(minerAddr(miner), i, null)) ?? [];
          const sectors = parts.reduce((a, p) => a + BitField.fromJSON(p.AllSectors).count(), 0);
          const faults = parts.reduce((a, p) => a + BitField.fromJSON(p.FaultySectors).count(), 0);
          const proven = BitField.fromJSON(dls[i]!.PostSubmissions).count();
          const open = d.PeriodStart + i * d.WPoStChallengeWindow + (i < d.Index ? d.WPoStProvingPeriod : 0);
          rows.push([
            `${i}${i === d.Index ? ' (current)' : ''}`,
            String(open),
            String(parts.length),
            `${sectors} (${faults})`,
            String(proven),
          ]);
        }
        out(table(rows));
      } finally {
        await chain.close();
        await messager.close();
      }
    },
  );

  minerOpt(proving.command('deadline').description('partitions of one deadline').argument('<index>')).action(
    async function (this: Command, idx: string) {
      const g = globals(this);
      const miner = pickMiner(g, (this.opts() as { miner?: string }).miner);
      const { chain, messager } = chainOf(g);
      try {
        const parts = (await chain.StateMinerPartitions(minerAddr(miner), parseSectorNumber(idx), null)) ?? [];
        const dls = await chain.StateMinerDeadlines(minerAddr(miner), null);
        const posted = BitField.fromJSON(dls[Number(idx)]?.PostSubmissions ?? [0]);
        out(`Deadline Index: ${idx}\nPartitions: ${parts.length}\nProven Partitions: ${posted.count()}\n`);
        parts.forEach((p, i) => {
          const list = (f: 'AllSectors' | 'FaultySectors' | 'RecoveringSectors' | 'ActiveSectors') =>
            BitField.fromJSON(p[f]).toArray().join(', ') || '-';
          out(
            `Partition ${i}:\n  Sectors:    ${list('AllSectors')}\n  Faults:     ${list('FaultySectors')}\n  Recovering: ${list('RecoveringSectors')}\n  Active:     ${list('ActiveSectors')}\n`,
          );
        });
      } finally {
        await chain.close();
        await messager.close();
      }
    },
  );

  withListen(
    minerOpt(proving.command('check').description("check the files of a deadline's sectors").argument('<index>')),
  )
    .option('--slow', 'StrictCheck: file sizes and one vanilla proof per sector')
    .option('--only-bad', 'print only sectors that are not provable')
    .action(async function (this: Command, idx: string) {
      const g = globals(this);
      const o = this.opts() as { miner?: string; slow?: boolean; onlyBad?: boolean };
      const miner = pickMiner(g, o.miner);
      const { chain, messager } = chainOf(g);
      let parts: Awaited<ReturnType<typeof chain.StateMinerPartitions>>;
      let infos: Awaited<ReturnType<typeof chain.StateMinerSectors>>;
      try {
        parts = (await chain.StateMinerPartitions(minerAddr(miner), parseSectorNumber(idx), null)) ?? [];
        const all = parts.flatMap((p) => BitField.fromJSON(p.AllSectors).toArray());
        infos = all.length
          ? await chain.StateMinerSectors(minerAddr(miner), BitField.fromNumbers(all).toJSON(), null)
          : [];
      } finally {
        await chain.close();
        await messager.close();
      }
      const byNumber = new Map((infos ?? []).map((s) => [s.SectorNumber, s]));
      await withManager(this, async (api) => {
        const rows = [['deadline', 'partition', 'sector', 'status']];
        for (let i = 0; i < parts!.length; i++) {
          const nums = BitField.fromJSON(parts![i]!.AllSectors).toArray();
          const sectors = nums
            .map((n) => byNumber.get(n))
            .filter((s) => s !== undefined)
            .map((s) => ({
              SealProof: s.SealProof,
              SectorNumber: s.SectorNumber,
              SectorKey: s.SectorKeyCID,
              SealedCID: s.SealedCID,
            }));
          const bad = await api.CheckProvable(miner, POST_PROOFS[10]!.id, sectors, o.slow === true, false);
          for (const n of nums) {
            const why = bad[String(n)] ?? (byNumber.has(n) ? undefined : 'not found on chain');
            if (o.onlyBad && !why) continue;
            rows.push([idx, String(i), String(n), why ? `bad (${why})` : 'good']);
          }
        }
        out(table(rows));
      });
    });
}

// -----------------------------------------------------------------------------------------------------------------
// util worker, util storage

function registerWorker(util: Command): void {
  const worker = util.command('worker').description('workers that pinged this manager, and their tokens');
  worker
    .command('token')
    .description('print a write token bound to one worker: it may act only on the sectors it allocated')
    .argument('<name>', "the worker's [instance] name")
    .action(async function (this: Command, name: string) {
      const g = globals(this);
      let token: string;
      try {
        token = await mintWorkerToken(g.home, name);
      } catch (err) {
        throw new UserError((err as Error).message);
      }
      out(
        `# venus-worker.toml of ${name} ([instance] name = "${name}"):\n[sealer_rpc]\n` +
          `headers = { Authorization = "Bearer ${token}" }\n`,
      );
    });
  withListen(worker.command('list').description('workers and their last ping'))
    .option('--expiration <minutes>', 'a worker is missing after this many minutes without ping', '10')
    .action(async function (this: Command) {
      const exp = Number((this.opts() as { expiration: string }).expiration) * 60;
      await withManager(this, async (api) => {
        const list = (await api.WorkerPingInfoList()) ?? [];
        const now = Math.floor(Date.now() / 1000);
        const rows = [
          ['Name', 'Dest', 'Version', 'Threads', 'Empty', 'Paused', 'Running', 'Waiting', 'Errors', 'LastPing'],
        ];
        for (const w of list) {
          const ago = now - w.LastPing;
          const s = w.Info.Summary;
          rows.push([
            w.Info.Name,
            w.Info.Dest,
            w.Info.Version,
            String(s.Threads),
            String(s.Empty),
            String(s.Paused),
            String(s.Running),
            String(s.Waiting),
            String(s.Errors),
            `${ago}s ago${ago > exp ? ' (missing)' : ''}`,
          ]);
        }
        out(table(rows));
      });
    });
}

function registerStorage(util: Command): void {
  const storage = util.command('storage').description('persist stores');
  withListen(storage.command('list').description('persist stores: space, reservations')).action(async function (
    this: Command,
  ) {
    await withManager(this, async (api) => {
      out(formatStoreList((await api.StoreList()) ?? []));
    });
  });
  withListen(
    storage.command('find').description('which store holds a sector').argument('<miner>').argument('<number>'),
  ).action(async function (this: Command, m: string, n: string) {
    const sid = { Miner: parseMinerId(m), Number: parseSectorNumber(n) };
    await withManager(this, async (api) => {
      const r = await api.SectorIndexerFind('normal', sid);
      if (!r.Found) throw new UserError(`${sectorName(sid)} not found in the sector index`);
      out(`${sectorName(sid)}:\n  SealedFile: ${r.Instance.SealedFile}\n  CacheDir: ${r.Instance.CacheDir}\n`);
      const info = await api.StoreBasicInfo(r.Instance.SealedFile);
      if (info) out(`  Path: ${info.Path}\n`);
    });
  });
}
