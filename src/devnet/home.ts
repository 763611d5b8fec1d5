/**
 * The devnet home directory:
 *
 *   chain.db                 chain, state, mempool, messager records (SQLite, WAL)
 *   devnet.json              listen address and what `init` chose (network, block time, sector sizes, accounts)
 *   keystore/MF2XI2BNNJ3XILLQOJUXMYLUMU, token   the shared HS256 secret and an admin token (Lotus repo layout)
 *   keys/<address>.key       funded genesis keys, Lotus `wallet export` hex (importable into venus-wallet)
 *   keys/client.key          the funded deal client (secp256k1) with datacap, same format
 *   api                      the multiaddr the running devnet listens on
 *   snippets.toml            ready-to-paste [Chain] / [Messager] / [APIRegisterHub] sections with address and token
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandHome } from '../common/config.js';
import {
  exportKeyInfo,
  generateKey,
  importKeyInfo,
  type KeyInfo,
  type KeyType,
  keyFromPrivate,
  parseNetwork,
  setDefaultNetwork,
} from '../fil/index.js';
import { createToken, loadOrInitRepoAuth, type Perm, parseListenAddress } from '../rpc/index.js';
import { DevnetNode } from './node.js';
import { DEFAULT_SECTOR_SIZES, makePolicy, type Policy, type PolicyOverrides } from './policy.js';
import type { ProofVerifier } from './runtime.js';

export const DEFAULT_LISTEN = '127.0.0.1:1234';
/** The account name of the tokens `init` writes: wallet, messager and manager share it, so sign requests route. */
export const DEVNET_ACCOUNT = 'devnet';

export interface InitOptions {
  home: string;
  network?: string;
  blockTimeMs?: number;
  sectorSizes?: number[];
  listen?: string;
  /** Key types of the funded accounts, in order; default: bls (owner), bls (worker), secp256k1. */
  accounts?: KeyType[];
  /** Per account, attoFIL. */
  balance?: bigint;
  policy?: PolicyOverrides;
  /** Hex seed of the tickets and beacon; random by default. */
  seed?: string;
  /** Datacap of the deal client `init` creates, bytes (default 64 GiB). */
  clientDatacap?: bigint;
}

export interface HomeSettings {
  listen: string;
  network: string;
  accounts: { address: string; type: KeyType; keyFile: string }[];
  /** The funded deal client with datacap (keys/client.key); absent in homes made before deals. */
  client?: { address: string; type: KeyType; keyFile: string; datacap: string };
}

export interface InitResult {
  home: string;
  settings: HomeSettings;
  policy: Policy;
  blockTimeMs: number;
  token: string;
  snippets: string;
}

const FIL = 10n ** 18n;
/** keys/client.key: the deal client's key (Lotus `wallet export` hex, like the other keys). */
export const CLIENT_KEY_FILE = 'client.key';
export const DEFAULT_CLIENT_DATACAP = 64n << 30n;

export function resolveHome(home: string): string {
  return expandHome(home);
}

/** Creates a devnet home with genesis. Refuses a home that already has a chain. */
export async function initHome(o: InitOptions, verifier: ProofVerifier): Promise<InitResult> {
  const home = resolveHome(o.home);
  if (existsSync(join(home, 'chain.db'))) throw new Error(`${home} already holds a devnet (chain.db exists)`);
  const network = devnetNetwork(o.network ?? '2k');
  setDefaultNetwork('t');
  mkdirSync(join(home, 'keys'), { recursive: true, mode: 0o700 });
  const listen = o.listen ?? DEFAULT_LISTEN;
  parseListenAddress(listen);
  const policy = makePolicy({ ...(o.policy ?? {}), sectorSizes: o.sectorSizes ?? DEFAULT_SECTOR_SIZES });
  const blockTimeMs = o.blockTimeMs ?? 1000;
  if (!Number.isFinite(blockTimeMs) || blockTimeMs < 50)
    throw new Error(`block time must be ≥ 50ms, got ${blockTimeMs}`);
  policy.blockDelaySecs = Math.max(1, Math.round(blockTimeMs / 1000));
  const balance = o.balance ?? 1_000_000n * FIL;
  const types = o.accounts ?? (['bls', 'bls', 'secp256k1'] as KeyType[]);
  const accounts: HomeSettings['accounts'] = [];
  for (const t of types) {
    const k = generateKey(t);
    const keyFile = join(home, 'keys', `${k.address.toString()}.key`);
    writeFileSync(keyFile, `${exportKeyInfo(k)}\n`, { mode: 0o600 });
    accounts.push({ address: k.address.toString(), type: t, keyFile });
  }
  // the deal client: funded like the others, with datacap for verified deals, its key at a fixed name
  const clientKey = generateKey('secp256k1');
  const clientDatacap = o.clientDatacap ?? DEFAULT_CLIENT_DATACAP;
  if (clientDatacap < 0n) throw new Error(`client datacap must not be negative, got ${clientDatacap}`);
  const client = {
    address: clientKey.address.toString(),
    type: 'secp256k1' as KeyType,
    keyFile: join(home, 'keys', CLIENT_KEY_FILE),
    datacap: clientDatacap.toString(),
  };
  writeFileSync(client.keyFile, `${exportKeyInfo(clientKey)}\n`, { mode: 0o600 });
  const node = DevnetNode.create(
    join(home, 'chain.db'),
    {
      policy,
      blockTimeMs,
      genesisTimestamp: Math.floor(Date.now() / 1000),
      seed: o.seed ?? randomBytes(32).toString('hex'),
      accounts: [...accounts, client].map((a) => ({ address: a.address, balance })),
      datacap: clientDatacap > 0n ? [{ address: client.address, bytes: clientDatacap }] : [],
    },
    verifier,
  );
  await node.close();
  const settings: HomeSettings = { listen, network, accounts, client };
  writeFileSync(join(home, 'devnet.json'), `${JSON.stringify(settings, null, 2)}\n`);
  const auth = await loadOrInitRepoAuth(home, { tokenName: DEVNET_ACCOUNT });
  const token = await createToken(auth.secret, 'admin', { name: DEVNET_ACCOUNT });
  const snippets = writeSnippets(home, listenMultiaddr(listen), token);
  return { home, settings, policy, blockTimeMs, token, snippets };
}

/**
 * The network name `init --network` takes: any spelling of the network table (src/fil/network.ts) is known, but the
 * devnet runs only the 2k network (a public network's name is refused with that reason, an unknown one with the list).
 */
export function devnetNetwork(name: string): string {
  const n = parseNetwork(name);
  if (n.name !== '2k') throw new Error(`the devnet runs the 2k network, not ${n.name} ("${name}"): use --network 2k`);
  return n.name;
}

export function loadSettings(home: string): HomeSettings {
  const p = join(resolveHome(home), 'devnet.json');
  if (!existsSync(p))
    throw new Error(`${resolveHome(home)} is not a devnet home (no devnet.json; run venus-devnet init)`);
  return JSON.parse(readFileSync(p, 'utf8')) as HomeSettings;
}

/** The operators' genesis keys in the home (for `send` and MpoolPushMessage); the deal client's is loadClientKey's. */
export function loadKeys(home: string): KeyInfo[] {
  const dir = join(resolveHome(home), 'keys');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.key') && f !== CLIENT_KEY_FILE)
    .map((f) => {
      const ki = importKeyInfo(readFileSync(join(dir, f), 'utf8'));
      return keyFromPrivate(ki.type, ki.privateKey);
    });
}

/** The deal client's key (keys/client.key), or undefined in a home made before deals. */
export function loadClientKey(home: string): KeyInfo | undefined {
  const file = join(resolveHome(home), 'keys', CLIENT_KEY_FILE);
  if (!existsSync(file)) return undefined;
  const ki = importKeyInfo(readFileSync(file, 'utf8'));
  return keyFromPrivate(ki.type, ki.privateKey);
}

export function listenMultiaddr(listen: string): string {
  const { host, port } = parseListenAddress(listen);
  const ip = host === 'localhost' || host === '0.0.0.0' ? '127.0.0.1' : host;
  return `/ip4/${ip}/tcp/${port}/http`;
}

/** Writes snippets.toml for the other programs and returns its text. */
export function writeSnippets(home: string, multiaddr: string, token: string): string {
  const text = `# venus-devnet: paste these into the other programs' configs
# (one admin token of account "${DEVNET_ACCOUNT}" for all, so the messager's sign requests reach the wallet)

# venus-sector-manager: sector-manager.cfg
[Chain]
Api = "${multiaddr}"
Token = "${token}"

[Messager]
Api = "${multiaddr}"
Token = "${token}"

# venus-wallet: config.toml
[APIRegisterHub]
RegisterAPI = ["${multiaddr}"]
Token = "${token}"
SupportAccounts = ["${DEVNET_ACCOUNT}"]

# Lotus-style API info (FULLNODE_API_INFO):
# ${token}:${multiaddr}
`;
  writeFileSync(join(home, 'snippets.toml'), text, { mode: 0o600 });
  return text;
}

/** A token signed with the home's secret, as venus-auth issues them ({name, perm, ext}). */
export async function createHomeToken(home: string, name: string, perm: Perm, ext = ''): Promise<string> {
  const h = resolveHome(home);
  if (!existsSync(join(h, 'keystore'))) throw new Error(`${h} has no auth secret (run venus-devnet init)`);
  const auth = await loadOrInitRepoAuth(h, { tokenName: DEVNET_ACCOUNT });
  return createToken(auth.secret, perm, { name, ext });
}
