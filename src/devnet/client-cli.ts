/**
 * `venus-devnet client …`: a storage client against the devnet's market (docs/deals-market.md).
 *
 *   client import FILE --provider t0… [--verified] [--kind ddo|market] [--duration EPOCHS] [--start-delay EPOCHS]
 *   client list [--json]
 *   client retrieve PIECE_CID --out FILE [--unseal] [--timeout DURATION]
 *
 * The client account is <home>/keys/client.key (funded, with datacap, by `init`); its messages are signed by the
 * devnet (which holds the home's keys), its deal proposals by this command.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { FullNodeAPI, type MsgLookup } from '../api/full.js';
import { UserError } from '../common/cli.js';
import { parseDuration } from '../common/config.js';
import {
  allocationTransferParams,
  commPToCid,
  DatacapMethod,
  decodeAllocationsResponse,
  decodeDatacapTransferReturn,
  encodeAddBalanceParams,
  encodeDealProposal,
  fromBase64,
  importKeyInfo,
  type Key,
  keyFromPrivate,
  MarketMethod,
  parseAddress,
  setDefaultNetwork,
  signatureToJSON,
  signWithKey,
  toBase64,
  toCid,
} from '../fil/index.js';
import { commPOfFile, pieceSizeForPayload, unpaddedPieceSize } from '../proofs/index.js';
import { createClient } from '../rpc/index.js';
import { DevnetAPI } from './api.js';
import { resolveHome } from './home.js';
import type { ClientDeal, DealProposalJson } from './market-service/client-api.js';
import { DevnetMarketAPI } from './market-service/client-api.js';
import { proposalFromJson } from './market-service/codec.js';
import { MAXIMUM_VERIFIED_ALLOCATION_TERM } from './market-service/pick.js';
import { parsePieceCid } from './market-service/pieces.js';

/** builtin-actors market deal_duration_bounds and verifreg's minimum term: 180 days; the market's maximum 1278. */
const MIN_DURATION = 180 * 2880;
const MAX_DEAL_DURATION = 1278 * 2880;
/** verifreg MINIMUM_VERIFIED_ALLOCATION_SIZE on small-sector networks. */
const MIN_VERIFIED_PIECE = 256;
/** verifreg MAXIMUM_VERIFIED_ALLOCATION_EXPIRATION: an allocation must be claimable within 60 days. */
const MAX_ALLOCATION_EXPIRATION = 60 * 2880;

export interface Env {
  home: string;
  base: string;
  url: string;
  token: string;
}

function envOf(cmd: Command): Env {
  return envOfHome(resolveHome((cmd.optsWithGlobals() as { home: string }).home));
}

/** Where the running devnet of `home` listens, and its admin token. */
export function envOfHome(home: string): Env {
  setDefaultNetwork('t');
  const apiFile = join(home, 'api');
  if (!existsSync(apiFile)) throw new UserError(`${home}/api not found: is venus-devnet running (venus-devnet run)?`);
  const ma = readFileSync(apiFile, 'utf8').trim();
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(ma);
  if (!m) throw new UserError(`${apiFile}: cannot read "${ma}"`);
  const token = readFileSync(join(home, 'token'), 'utf8').trim();
  const base = `http://${m[1]}:${m[2]}`;
  return { home, base, url: `${base}/rpc/v1`, token };
}

function clientKey(home: string): Key {
  const p = join(home, 'keys', 'client.key');
  if (!existsSync(p))
    throw new UserError(`${p} not found: this devnet has no client account (re-run venus-devnet init)`);
  const ki = importKeyInfo(readFileSync(p, 'utf8'));
  return keyFromPrivate(ki.type, ki.privateKey);
}

function intOption(v: string, what: string, min: number, max: number): number {
  if (!/^\d{1,15}$/.test(v)) throw new UserError(`${what} must be a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new UserError(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function providerOption(v: string): string {
  let a: ReturnType<typeof parseAddress>;
  try {
    a = parseAddress(v);
  } catch (e) {
    throw new UserError(`--provider: ${(e as Error).message}`);
  }
  if (a.protocol !== 0) throw new UserError(`--provider must be the miner's ID address (t0…), got ${v}`);
  return a.toString();
}

async function tryRpc<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw new UserError(`${what}: ${(e as Error).message}`);
  }
}

/** PUT the file into the market's piece store (streamed; the market checks the CommP). */
function putPiece(env: Env, cid: string, file: string, size: number, pieceSize: number): Promise<void> {
  const url = new URL(`${env.base}/resource`);
  url.searchParams.set('resource-id', cid);
  url.searchParams.set('size', String(size));
  url.searchParams.set('piece-size', String(pieceSize));
  return new Promise((ok, fail) => {
    const req = request(
      url,
      {
        method: 'PUT',
        headers: {
          Authorization: `Bearer ${env.token}`,
          'Content-Type': 'application/octet-stream',
          'Content-Length': size,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? ok()
            : fail(
                new UserError(
                  `the piece store refused ${cid} (${res.statusCode}): ${Buffer.concat(chunks).toString().trim()}`,
                ),
              ),
        );
      },
    );
    req.on('error', (e) => fail(new UserError(`cannot upload to the piece store: ${e.message}`)));
    createReadStream(file).on('error', fail).pipe(req);
  });
}

async function waitMsg(
  full: ReturnType<typeof createClient<typeof FullNodeAPI>>,
  cid: { '/': string },
  what: string,
): Promise<MsgLookup> {
  const r = await tryRpc(`waiting for ${what}`, full.StateWaitMsg(cid, 0, -1, true));
  if (!r) throw new UserError(`${what} (${cid['/']}) was not found on chain`);
  if (r.Receipt.ExitCode !== 0)
    throw new UserError(`${what} (${cid['/']}) failed with exit code ${r.Receipt.ExitCode}`);
  return r;
}

function printDeal(d: ClientDeal, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(d)}\n`);
    return;
  }
  const id = d.Kind === 'ddo' ? `allocation ${d.AllocationID}` : `deal ${d.DealID || '(publishing)'}`;
  process.stdout.write(`${d.PieceCID}  ${d.Kind} ${id}  ${d.State}${d.Reason ? ` (${d.Reason})` : ''}\n`);
}

export interface ImportOptions {
  provider: string;
  verified?: boolean;
  kind?: string;
  duration: string;
  startDelay: string;
  price: string;
  wait: boolean;
  json?: boolean;
}

/** `client import`: returns the piece and the deal as the market records it. */
export async function importFile(
  env: Env,
  file: string,
  o: ImportOptions,
): Promise<{ pieceCid: string; pieceSize: number; deal: ClientDeal }> {
  const provider = providerOption(o.provider);
  const kind = o.kind ?? (o.verified ? 'ddo' : 'market');
  if (kind !== 'ddo' && kind !== 'market') throw new UserError(`--kind must be ddo or market, not "${kind}"`);
  if (kind === 'ddo' && !o.verified)
    throw new UserError('--kind ddo makes a verified allocation from the client datacap: add --verified');
  const verified = !!o.verified;
  const duration = intOption(
    o.duration,
    '--duration',
    MIN_DURATION,
    kind === 'ddo' ? MAXIMUM_VERIFIED_ALLOCATION_TERM : MAX_DEAL_DURATION,
  );
  const startDelay = intOption(o.startDelay, '--start-delay', 1, MAX_ALLOCATION_EXPIRATION);
  if (!/^\d{1,30}$/.test(o.price))
    throw new UserError(`--price must be attoFIL per epoch (a whole number), got "${o.price}"`);
  const price = BigInt(o.price);
  const path = resolve(file);
  if (!existsSync(path)) throw new UserError(`${file}: no such file`);
  const st = statSync(path);
  if (!st.isFile()) throw new UserError(`${file} is not a regular file`);
  if (st.size === 0) throw new UserError(`${file} is empty: there is nothing to store`);
  const key = clientKey(env.home);
  const client = key.address.toString();
  const devnet = createClient(DevnetAPI, { url: env.url, token: env.token });
  const full = createClient(FullNodeAPI, { url: env.url, token: env.token, timeoutMs: 0 });
  const market = createClient(DevnetMarketAPI, { url: env.url, token: env.token });
  try {
    const status = await tryRpc('cannot reach the devnet', devnet.Status());
    const largest = Math.max(...(status.Policy?.sectorSizes ?? [2048]));
    if (st.size > unpaddedPieceSize(largest))
      throw new UserError(`${file} is ${st.size} bytes: more than the largest sector (${largest}) holds`);
    const pieceSize = Math.max(pieceSizeForPayload(st.size), verified ? MIN_VERIFIED_PIECE : 128);
    if (pieceSize > largest)
      throw new UserError(`a verified piece of ${file} needs ${pieceSize} bytes: no sector that large`);
    const commP = await commPOfFile(path, pieceSize);
    const cid = commPToCid(commP.commP).toString();
    await putPiece(env, cid, path, st.size, pieceSize);
    const start = status.Height + startDelay;
    const end = start + duration;
    let deal: ClientDeal;
    if (kind === 'ddo') {
      // the longest term the verified registry allows (5 years), as direct-deal clients default to: a claim needs the
      // sector's remaining lifetime within [TermMin, TermMax], and committed-capacity sectors taking deals in place
      // (SnapDeals) live 540 days, longer than a builtin deal's term plus its 90-day buffer
      const termMax = Math.max(duration, MAXIMUM_VERIFIED_ALLOCATION_TERM);
      const params = allocationTransferParams([
        {
          provider: parseAddress(provider).id(),
          data: toCid(cid),
          size: pieceSize,
          termMin: duration,
          termMax,
          expiration: start,
        },
      ]);
      const sm = await tryRpc(
        'datacap transfer',
        full.MpoolPushMessage(msg(client, 't07', DatacapMethod.TransferExported, params, 0n), null),
      );
      const r = await waitMsg(full, sm.CID!, 'the datacap transfer to f06');
      const ret = decodeDatacapTransferReturn(fromBase64(r.Receipt.Return ?? '', 'Return'));
      const ids = decodeAllocationsResponse(ret.recipientData).newAllocations;
      if (ids.length !== 1) throw new UserError(`the verified registry made ${ids.length} allocations, not 1`);
      deal = await tryRpc(
        'import direct deal',
        market.ImportDirectDeal({
          AllocationID: ids[0],
          Client: client,
          Provider: provider,
          PieceCID: { '/': cid },
          PieceSize: pieceSize,
          PayloadSize: st.size,
          StartEpoch: start,
          EndEpoch: end,
        }),
      );
    } else {
      const proposal: DealProposalJson = {
        PieceCID: { '/': cid },
        PieceSize: pieceSize,
        VerifiedDeal: verified,
        Client: client,
        Provider: provider,
        Label: basename(path).slice(0, 200),
        StartEpoch: start,
        EndEpoch: end,
        StoragePricePerEpoch: price.toString(),
        ProviderCollateral: '0',
        ClientCollateral: '0',
      };
      const cost = price * BigInt(duration);
      if (cost > 0n) {
        const sm = await tryRpc(
          'market AddBalance',
          full.MpoolPushMessage(
            msg(client, 't05', MarketMethod.AddBalance, encodeAddBalanceParams(key.address), cost),
            null,
          ),
        );
        await waitMsg(full, sm.CID!, 'the client AddBalance');
      }
      const sig = signWithKey(key, encodeDealProposal(proposalFromJson(proposal)));
      deal = await tryRpc(
        'propose storage deal',
        market.ProposeStorageDeal({ Proposal: proposal, ClientSignature: signatureToJSON(sig), PayloadSize: st.size }),
      );
      // the market publishes through the messager: wait for the deal id unless asked not to
      for (let i = 0; o.wait && deal.State === 'publishing' && i < 600; i++) {
        await new Promise((r) => setTimeout(r, 500));
        deal = (await tryRpc('list deals', market.ListDeals())).find((d) => d.ProposalCid === deal.ProposalCid) ?? deal;
      }
      if (deal.State === 'failed') throw new UserError(`the deal was not published: ${deal.Reason}`);
    }
    return { pieceCid: cid, pieceSize, deal };
  } finally {
    await Promise.all([devnet.close(), full.close(), market.close()]);
  }
}

function msg(from: string, to: string, method: number, params: Uint8Array, value: bigint) {
  return {
    Version: 0,
    To: to,
    From: from,
    Nonce: 0,
    Value: value.toString(),
    GasLimit: 0,
    GasFeeCap: '0',
    GasPremium: '0',
    Method: method,
    Params: toBase64(params),
  };
}

async function listDeals(env: Env, json: boolean): Promise<void> {
  const market = createClient(DevnetMarketAPI, { url: env.url, token: env.token });
  try {
    const deals = await tryRpc('list deals', market.ListDeals());
    if (json) {
      process.stdout.write(`${JSON.stringify(deals)}\n`);
      return;
    }
    if (!deals.length) {
      process.stdout.write('no deals\n');
      return;
    }
    const rows = deals.map((d) => [
      d.PieceCID,
      d.Kind,
      d.Kind === 'ddo' ? `alloc ${d.AllocationID}` : d.DealID ? `deal ${d.DealID}` : '-',
      d.Verified ? 'yes' : 'no',
      d.State,
      d.Sector === null ? '-' : String(d.Sector),
      d.ActivationEpoch === null ? '-' : String(d.ActivationEpoch),
      d.Reason ?? '',
    ]);
    const head = ['PIECE', 'KIND', 'ID', 'VERIFIED', 'STATE', 'SECTOR', 'ACTIVATION', 'REASON'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const r of [head, ...rows])
      process.stdout.write(
        `${r
          .map((c, i) => c.padEnd(widths[i]))
          .join('  ')
          .trimEnd()}\n`,
      );
  } finally {
    await market.close();
  }
}

/** GET the piece into `out` (via a temporary file), keeping `payload` bytes; returns the sha256 (hex). */
function download(env: Env, cid: string, out: string, payload: number): Promise<string> {
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.part`);
  return new Promise((ok, fail) => {
    const url = new URL(`${env.base}/resource`);
    url.searchParams.set('resource-id', cid);
    const req = request(url, { headers: { Authorization: `Bearer ${env.token}` } }, (res) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
        res.on('end', () =>
          fail(new UserError(`GET ${cid} (${res.statusCode}): ${Buffer.concat(chunks).toString().trim()}`)),
        );
        return;
      }
      const hash = createHash('sha256');
      const w = createWriteStream(tmp, { mode: 0o644 });
      let kept = 0;
      res.on('data', (c: Buffer) => {
        const part = c.subarray(0, Math.max(0, payload - kept));
        kept += part.length;
        if (part.length) {
          hash.update(part);
          if (!w.write(part)) {
            res.pause();
            w.once('drain', () => res.resume());
          }
        }
      });
      res.on('error', (e) => fail(new UserError(`download of ${cid} broke: ${e.message}`)));
      res.on('end', () => {
        w.end(() => {
          if (kept < payload) {
            rmSync(tmp, { force: true });
            fail(
              new UserError(`the piece store served ${kept} bytes of ${cid}, fewer than its ${payload}-byte payload`),
            );
            return;
          }
          renameSync(tmp, out);
          ok(hash.digest('hex'));
        });
      });
    });
    req.on('error', (e) => fail(new UserError(`cannot reach the piece store: ${e.message}`)));
    req.end();
  });
}

/** `client retrieve`: writes the payload to `o.out`; returns its size and sha256. */
export async function retrieve(
  env: Env,
  cidArg: string,
  o: { out: string; unseal?: boolean; timeout: string },
): Promise<{ out: string; bytes: number; sha256: string }> {
  let cid: string;
  try {
    cid = parsePieceCid(cidArg);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(o.timeout);
  } catch (e) {
    throw new UserError(`--timeout: ${(e as Error).message}`);
  }
  const out = resolve(o.out);
  if (!existsSync(dirname(out))) throw new UserError(`--out: directory ${dirname(out)} does not exist`);
  if (existsSync(out) && !statSync(out).isFile()) throw new UserError(`--out: ${out} is not a regular file`);
  const market = createClient(DevnetMarketAPI, { url: env.url, token: env.token });
  try {
    const started = Date.now();
    let s = await tryRpc('retrieve', market.RetrievePiece(cid, !!o.unseal));
    while (s.State === 'unsealing') {
      if (Date.now() - started > timeoutMs) throw new UserError(`${cid} was not unsealed within ${o.timeout}`);
      await new Promise((r) => setTimeout(r, 1000));
      s = await tryRpc('retrieve', market.RetrievePiece(cid, false));
    }
    if (s.State === 'failed') throw new UserError(s.Error);
    const sha = await download(env, cid, out, s.PayloadSize);
    return { out, bytes: s.PayloadSize, sha256: sha };
  } finally {
    await market.close();
  }
}

export function registerClientCommands(program: Command): void {
  const client = program.command('client').description("a storage client of the devnet's market");
  client
    .command('import')
    .description('store a file with a provider: a verified direct (DDO) allocation or a builtin-market deal')
    .argument('<file>', 'the payload')
    .requiredOption('--provider <t0…>', 'the storage provider (miner ID address)')
    .option('--verified', 'a verified deal, paid with the client datacap (10× QA power)')
    .option(
      '--kind <ddo|market>',
      'direct allocation (ddo, needs --verified) or builtin market deal (default: ddo if --verified)',
    )
    .option('--duration <epochs>', 'deal term in epochs (≥ 180 days)', String(MIN_DURATION))
    .option('--start-delay <epochs>', 'epochs from now by which the deal must be sealed', '2880')
    .option('--price <attoFIL>', 'builtin deals: storage price per epoch', '1')
    .option('--no-wait', 'builtin deals: do not wait for the publish message')
    .option('--json', 'print the deal as JSON')
    .action(async (file: string, o: ImportOptions, cmd: Command) => {
      const r = await importFile(envOf(cmd), file, o);
      if (!o.json) process.stdout.write(`piece ${r.pieceCid}  size ${r.pieceSize}\n`);
      printDeal(r.deal, !!o.json);
    });
  client
    .command('list')
    .description('every deal the market knows: piece, kind, verified, state, sector, activation epoch')
    .option('--json', 'one JSON array')
    .action((o: { json?: boolean }, cmd: Command) => listDeals(envOf(cmd), !!o.json));
  client
    .command('retrieve')
    .description("get a piece's payload back (from an unsealed copy, or unsealed by the provider)")
    .argument('<piece-cid>', 'the piece CID')
    .requiredOption('--out <file>', 'where to write the payload')
    .option('--unseal', 'always ask the provider to unseal from the sealed sector')
    .option('--timeout <duration>', 'how long to wait for an unseal', '30m')
    .action(async (cid: string, o: { out: string; unseal?: boolean; timeout: string }, cmd: Command) => {
      const r = await retrieve(envOf(cmd), cid, o);
      process.stdout.write(`${r.out}  ${r.bytes} bytes  sha256 ${r.sha256}\n`);
    });
}
