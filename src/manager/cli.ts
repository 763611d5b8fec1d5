/**
 * The venus-sector-manager commands (deployment guide; docs/spec/sealer-api.md §Programs and commands):
 *
 *   daemon init                                   writes the commented default sector-manager.cfg and the API
 *                                                 tokens (<home>/token admin, <home>/worker-token for workers)
 *   daemon run [--listen HOST:PORT] [--poster]    the daemon (tokens required; --insecure-no-auth on loopback only)
 *   util miner create --from … --sector-size …    CreateMiner through the messager, waits, prints the miner
 *   util miner info ID                            the miner's table
 *   util sealer sectors list|state|abort|restore|rebuild|resend-pre|resend-prove
 *   util sealer snap fetch|candidates               snapup candidates (docs/snapup-manager.md)
 *   util sealer proving info|deadlines|deadline IDX|check IDX
 *   util worker list|token NAME, util storage list|find
 *
 * `util miner …` and `util sealer proving info|deadlines|deadline` talk to the chain (and messager) named in
 * sector-manager.cfg; the others talk to the running daemon at `--listen` (default 127.0.0.1:1789).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { bytes32ToJson, type SectorID, type SectorState, SUBMIT_RESULT_NAMES, sectorName } from '../api/sealer.js';
import { UserError } from '../common/cli.js';
import { logger } from '../common/log.js';
import { cidToCommD, cidToCommR } from '../fil/index.js';
import { loadOrInitManagerAuth, mintWorkerToken, workerTomlHint } from './auth.js';
import { minerAddr } from './chain.js';
import {
  globals,
  loadCfg,
  type managerClient,
  out,
  parseBool,
  parseMinerId,
  parseSectorNumber,
  table,
  withListen,
  withManager,
} from './cli/common.js';
import { type CreateMinerOptions, createMiner } from './cli/create-miner.js';
import { registerDb } from './cli/db.js';
import { dealRows, dealsCell } from './cli/deals.js';
import { registerProving } from './cli/proving.js';
import { registerSnap } from './cli/snap.js';
import { registerUnseal } from './cli/unseal.js';
import { initHome } from './config.js';
import { connectServices, startDaemon } from './daemon.js';
import { initExtProverConfig } from './ext-prover.js';
import { formatStoreList } from './stores.js';

const log = logger('sealer');

export { parseMinerId } from './cli/common.js';

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
  registerDb(util);
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
        const rows = [
          ['Sector', 'Proof', 'State', 'Worker', 'Deals', 'Ticket', 'Seed', 'PreCommit', 'ProveCommit', 'Note'],
        ];
        for (const s of list) {
          rows.push([
            sectorName(s.ID),
            String(s.SectorType),
            stateOf(s),
            s.LatestState ? `${s.LatestState.Worker.Instance}:${s.LatestState.Worker.Location}` : '-',
            dealsCell(s),
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
    .option('--deals', "the sector's pieces and deals as a table instead of the JSON state")
    .action(async function (this: Command, m: string, n: string) {
      const sid = { Miner: parseMinerId(m), Number: parseSectorNumber(n) };
      const o = this.opts() as { offline?: boolean; deals?: boolean };
      await withManager(this, async (api) => {
        const s = o.offline ? await api.FindSector('offline', sid) : await api.FindSectorInAllStates(sid);
        if (!s) throw new UserError(`${sectorName(sid)} not found`);
        if (o.deals) {
          if (!s.Pieces?.length) out(`${sectorName(sid)}: no pieces (committed capacity)\n`);
          else out(table(dealRows(s)));
          return;
        }
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

  withListen(
    sectors
      .command('rebuild')
      .description(
        'seal a sector whose files were lost again, on a rebuild thread (plan = "rebuild"), from its ticket and pieces (docs/rebuild.md)',
      )
      .argument('<miner>')
      .argument('<number>'),
  )
    .option(
      '--pieces-available',
      "the deal pieces of the sector are in the piece store or the workers' local_pieces_dirs",
    )
    .action(async function (this: Command, m: string, n: string) {
      const sid = { Miner: parseMinerId(m), Number: parseSectorNumber(n) };
      const piecesAvailable = (this.opts() as { piecesAvailable?: boolean }).piecesAvailable === true;
      await withManager(this, async (api) => {
        await api.SectorSetForRebuild(sid, { PiecesAvailable: piecesAvailable });
        out(`${sectorName(sid)} set for rebuild: a worker thread with plan = "rebuild" seals it again\n`);
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

  registerUnseal(sectors);
  registerSnap(sealer);
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
