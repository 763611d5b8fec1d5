/**
 * The devnet node's SQLite layout (blocks, messages, receipts, objects, actors), the config record `init` writes,
 * and genesis. node.ts runs the chain over it.
 */
import Database from 'better-sqlite3';
import {
  blake2b256,
  cborCid,
  concatBytes,
  DATACAP_TOKEN_PRECISION,
  encodeCbor,
  idAddress,
  parseAddress,
  toHex,
} from '../fil/index.js';
import { BEACON_GENESIS_ROUND, type BlockHeader, blockCid, deterministic96, encodeBlockHeader } from './chain.js';
import { stringifyState } from './jsonc.js';
import { type Policy, policyFromJson, policyToJson } from './policy.js';
import { newPowerState } from './power.js';
import {
  BURNT_FUNDS_ACTOR,
  CRON_ACTOR,
  DATACAP_ACTOR,
  EAM_ACTOR,
  emptyState,
  INIT_ACTOR,
  MARKET_ACTOR,
  POWER_ACTOR,
  REWARD_ACTOR,
  StateTree,
  SYSTEM_ACTOR,
  VERIFREG_ACTOR,
} from './state.js';
import { mintDatacap } from './verifreg/actor.js';
import { createAccount } from './vm.js';

/** What `init` decides and every later run reads back. */
export interface DevnetConfig {
  policy: Policy;
  /** Wall-clock time between epochs. */
  blockTimeMs: number;
  genesisTimestamp: number;
  /** Hex seed of the deterministic tickets and beacon entries. */
  seed: string;
  accounts: { address: string; balance: bigint }[];
  /** Datacap granted at genesis (bytes), e.g. to the deal client `init` creates. */
  datacap?: { address: string; bytes: bigint }[];
}

/** lotus InitialBaseFee (100e6 attoFIL). */
export const INITIAL_BASE_FEE = 100_000_000n;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actors (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS addresses (key TEXT PRIMARY KEY, id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, cid TEXT NOT NULL UNIQUE, header BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  cid TEXT PRIMARY KEY,          -- chain CID (signed CID for secp256k1, unsigned for BLS)
  unsigned_cid TEXT NOT NULL,
  signed BLOB NOT NULL,
  sender INTEGER NOT NULL,       -- actor ID of From
  nonce INTEGER NOT NULL,
  block_height INTEGER,          -- NULL while pending in the mempool
  idx INTEGER,
  received INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_unsigned ON messages(unsigned_cid);
CREATE INDEX IF NOT EXISTS messages_block ON messages(block_height, idx);
CREATE INDEX IF NOT EXISTS messages_pending ON messages(sender, nonce) WHERE block_height IS NULL;
CREATE TABLE IF NOT EXISTS receipts (
  cid TEXT PRIMARY KEY, exec_height INTEGER NOT NULL, idx INTEGER NOT NULL,
  exit_code INTEGER NOT NULL, ret BLOB NOT NULL, gas_used INTEGER NOT NULL, error TEXT
);
CREATE INDEX IF NOT EXISTS receipts_exec ON receipts(exec_height, idx);
CREATE TABLE IF NOT EXISTS objects (cid TEXT PRIMARY KEY, data BLOB NOT NULL);
`;

export interface MessageRow {
  cid: string;
  unsigned_cid: string;
  signed: Buffer;
  sender: number;
  nonce: number;
  block_height: number | null;
  idx: number | null;
}

export function openDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  return db;
}

export function configToJson(c: DevnetConfig): string {
  return JSON.stringify({
    policy: policyToJson(c.policy),
    blockTimeMs: c.blockTimeMs,
    genesisTimestamp: c.genesisTimestamp,
    seed: c.seed,
    accounts: c.accounts.map((a) => ({ address: a.address, balance: a.balance.toString() })),
    ...(c.datacap ? { datacap: c.datacap.map((d) => ({ address: d.address, bytes: d.bytes.toString() })) } : {}),
  });
}

export function parseConfig(s: string): DevnetConfig {
  const j = JSON.parse(s);
  return {
    policy: policyFromJson(j.policy),
    blockTimeMs: j.blockTimeMs,
    genesisTimestamp: j.genesisTimestamp,
    seed: j.seed,
    accounts: (j.accounts as { address: string; balance: string }[]).map((a) => ({
      address: a.address,
      balance: BigInt(a.balance),
    })),
    ...(Array.isArray(j.datacap)
      ? {
          datacap: (j.datacap as { address: string; bytes: string }[]).map((d) => ({
            address: d.address,
            bytes: BigInt(d.bytes),
          })),
        }
      : {}),
  };
}

export function writeGenesis(db: Database.Database, config: DevnetConfig): void {
  const data = emptyState();
  const t = new StateTree(data);
  for (const [id, kind] of [
    [SYSTEM_ACTOR, 'system'],
    [INIT_ACTOR, 'init'],
    [REWARD_ACTOR, 'reward'],
    [CRON_ACTOR, 'cron'],
    [MARKET_ACTOR, 'market'],
    [VERIFREG_ACTOR, 'verifreg'],
    [DATACAP_ACTOR, 'datacap'],
    [EAM_ACTOR, 'eam'],
    [BURNT_FUNDS_ACTOR, 'burnt'],
  ] as const) {
    t.createSingleton(id, kind, {});
  }
  t.createSingleton(POWER_ACTOR, 'power', newPowerState());
  for (const a of config.accounts) createAccount(t, parseAddress(a.address), a.balance);
  for (const d of config.datacap ?? []) {
    const id = t.resolve(parseAddress(d.address));
    if (id === undefined) throw new Error(`genesis datacap for ${d.address}: not a genesis account`);
    mintDatacap(t, id, d.bytes * DATACAP_TOKEN_PRECISION);
  }
  t.flush();
  const putActor = db.prepare('INSERT INTO actors (id, body) VALUES (?, ?)');
  for (const [id, rec] of Object.entries(data.actors)) putActor.run(Number(id), stringifyState(rec));
  const putAddr = db.prepare('INSERT INTO addresses (key, id) VALUES (?, ?)');
  for (const [k, id] of Object.entries(data.addresses)) putAddr.run(k, id);
  const setMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
  setMeta.run('config', configToJson(config));
  setMeta.run('nextId', String(data.nextId));
  const seed = Buffer.from(config.seed, 'hex');
  const empty = encodeCbor([[], []]);
  const genesisRoot = cborCid(encodeCbor(['venus-devnet genesis', toHex(blake2b256(concatBytes(seed)))]));
  const block: BlockHeader = {
    miner: idAddress(SYSTEM_ACTOR),
    ticket: deterministic96(seed, 'ticket', 0),
    electionProof: { winCount: 0, vrfProof: deterministic96(seed, 'election', 0) },
    beaconEntries: [{ round: BEACON_GENESIS_ROUND, data: deterministic96(seed, 'beacon', 0) }],
    winPoStProof: [],
    parents: [],
    parentWeight: 0n,
    height: 0,
    parentStateRoot: genesisRoot,
    parentMessageReceipts: cborCid(encodeCbor([])),
    messages: cborCid(empty),
    blsAggregate: null,
    timestamp: config.genesisTimestamp,
    blockSig: null,
    forkSignaling: 0,
    parentBaseFee: INITIAL_BASE_FEE,
  };
  db.prepare('INSERT INTO blocks (height, cid, header) VALUES (?, ?, ?)').run(
    0,
    blockCid(block).toString(),
    Buffer.from(encodeBlockHeader(block)),
  );
  db.prepare('INSERT OR IGNORE INTO objects (cid, data) VALUES (?, ?)').run(
    cborCid(empty).toString(),
    Buffer.from(empty),
  );
}
