/**
 * `venus-devnet run`: the chain node, messager, gateway and auth on one port. JSON-RPC on /rpc/v0, /rpc/v1 and
 * /rpc/v2 (HTTP and WebSocket) with `Filecoin.*`, `Message.*` and `Gateway.*`; sophon-auth's REST `POST /verify`
 * for services that check tokens remotely; `GET /healthcheck`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FullNodeAPI } from '../api/full.js';
import { GatewayAPI } from '../api/gateway.js';
import { MessagerAPI } from '../api/messager.js';
import { logger } from '../common/log.js';
import { addressOf, setDefaultNetwork } from '../fil/index.js';
import { createToken, loadOrInitRepoAuth, localAuth, type RpcLimits, RpcServer } from '../rpc/index.js';
import { DevnetAPI } from './api.js';
import { devnetStatus, fullNodeImpl } from './api-full.js';
import { Gateway } from './gateway.js';
import {
  DEVNET_ACCOUNT,
  listenMultiaddr,
  loadClientKey,
  loadKeys,
  loadSettings,
  resolveHome,
  writeSnippets,
} from './home.js';
import { actorPublishCodec, DevnetMarketChain, DevnetMarketMessager, MarketService } from './market-service/index.js';
import { Messager } from './messager.js';
import { DevnetNode } from './node.js';
import type { ProofVerifier } from './runtime.js';
import { VanillaBackend } from './vanilla.js';
import { AcceptingVerifier, ProofsVerifier } from './verifier.js';

const log = logger('devnet');

export interface StartOptions {
  home: string;
  /** Overrides the listen address of devnet.json ("host:port", ":port", a multiaddr; port 0 = any free port). */
  listen?: string;
  verifier?: ProofVerifier;
  /** Accept any non-empty proof (builtin-actors testing-fake-proofs); never the default. */
  insecureAcceptProofs?: boolean;
  /** Verify seal proofs in full but accept any non-empty Window PoSt. */
  insecureAcceptPoSt?: boolean;
  /** Produce blocks on the clock (default true); tests may mine by hand. */
  autoMine?: boolean;
  /** The RPC server's caller limits (src/rpc/limits.ts); the load bench raises the per-connection message rate. */
  limits?: Partial<RpcLimits>;
}

export class DevnetService {
  private constructor(
    readonly home: string,
    readonly node: DevnetNode,
    readonly gateway: Gateway,
    readonly messager: Messager,
    readonly server: RpcServer,
    readonly multiaddr: string,
    /** Admin token of account "devnet" (what snippets.toml carries). */
    readonly token: string,
    readonly secret: Uint8Array,
    /** the droplet-compatible market (VENUS_MARKET.*, DevnetMarket.*, /resource) */
    readonly market: MarketService,
  ) {}

  static async start(o: StartOptions): Promise<DevnetService> {
    const home = resolveHome(o.home);
    setDefaultNetwork('t');
    const settings = loadSettings(home);
    const verifier =
      o.verifier ??
      (o.insecureAcceptProofs
        ? new AcceptingVerifier()
        : new ProofsVerifier(new VanillaBackend(), { insecureAcceptPoSt: o.insecureAcceptPoSt }));
    if (o.insecureAcceptProofs) log.warn('accepting any non-empty proof (--insecure-accept-proofs)');
    else if (o.insecureAcceptPoSt) log.warn('accepting any non-empty Window PoSt (--insecure-accept-post)');
    const node = DevnetNode.open(join(home, 'chain.db'), verifier);
    const client = loadClientKey(home);
    for (const k of [...loadKeys(home), ...(client ? [client] : [])]) {
      node.wallet.set(addressOf(k.type, k.privateKey).key(), k);
    }
    const auth = await loadOrInitRepoAuth(home, { tokenName: DEVNET_ACCOUNT });
    const gateway = new Gateway();
    const messager = new Messager(node, gateway);
    const server = new RpcServer({
      auth: localAuth(auth.secret),
      anonymousPerm: 'read',
      paths: ['/rpc/v0', '/rpc/v1', '/rpc/v2'],
      ...o.limits,
    });
    server.register(FullNodeAPI, fullNodeImpl(node));
    server.register(MessagerAPI, messager.impl());
    server.register(GatewayAPI, gateway.impl());
    server.register(DevnetAPI, { Status: () => devnetStatus(node) });
    const market = new MarketService({
      db: node.db,
      piecesDir: join(home, 'market', 'pieces'),
      chain: new DevnetMarketChain(node),
      messager: new DevnetMarketMessager(messager),
      codec: actorPublishCodec,
      maxPieceBytes: (Math.max(...node.policy.sectorSizes) / 128) * 127,
    });
    market.mount(server);
    node.events.on('head', () => void market.onHead());
    const verify = localAuth(auth.secret);
    server.route('POST', '/verify', async (req, res) => {
      // sophon-auth REST: {"token"} → {"name","perm","ext"}
      const body = await readBody(req);
      try {
        const { token } = JSON.parse(body) as { token?: string };
        const v = await verify.verify(token ?? '');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ name: v.name, perm: v.perm, ext: v.ext }));
      } catch (e) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (e as Error).message }));
      }
    });
    server.route('GET', '/healthcheck', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ height: node.head.height }));
    });
    const bound = await server.listen(o.listen ?? settings.listen);
    const multiaddr = listenMultiaddr(`${bound.host}:${bound.port}`);
    const token = await createToken(auth.secret, 'admin', { name: DEVNET_ACCOUNT });
    writeFileSync(join(home, 'api'), `${multiaddr}\n`);
    writeSnippets(home, multiaddr, token);
    const svc = new DevnetService(home, node, gateway, messager, server, multiaddr, token, auth.secret, market);
    if (o.autoMine !== false) node.start();
    log.info(
      { listen: multiaddr, height: node.head.height, blockTime: `${node.config.blockTimeMs}ms` },
      'venus-devnet serving',
    );
    return svc;
  }

  /** "http://host:port/rpc/v1" */
  url(version = 'v1', scheme: 'http' | 'ws' = 'http'): string {
    const a = this.server.address();
    return `${scheme}://${a.host}:${a.port}/rpc/${version}`;
  }

  async stop(): Promise<void> {
    this.node.stop();
    const market = this.market.close();
    this.messager.close();
    await this.server.close();
    await this.messager.idle();
    await market;
    await this.node.close();
    log.info('venus-devnet stopped');
  }
}

function readBody(req: import('node:http').IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
