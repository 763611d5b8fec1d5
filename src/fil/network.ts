/**
 * Network names, in one table for every program (`venus-sector-manager --net`, `venus-wallet --nettype`,
 * `venus-devnet init --network`, the worker): the deployment guide's spellings (`forcenet`, `cali`), the
 * original programs' (`force`, `calibnet`, `2k`, `butterfly`, `interop`, `integrationnet`) and the names chains
 * report in StateGetNetworkParams (`calibrationnet`, `testnetnet` for Lotus mainnet) all resolve to one
 * canonical name and its address prefix. An unknown name is refused with the list.
 */
import type { Network } from './address.js';

export interface NetworkName {
  /** the canonical name (what the programs print) */
  name: string;
  /** the address prefix: f on mainnet, t on every test network */
  prefix: Network;
  /** every accepted spelling (lower case), the canonical name first */
  aliases: readonly string[];
}

/** Every network a program accepts. */
export const NETWORKS: readonly NetworkName[] = [
  { name: 'mainnet', prefix: 'f', aliases: ['mainnet', 'main', 'testnetnet'] },
  { name: 'calibnet', prefix: 't', aliases: ['calibnet', 'cali', 'calibrationnet', 'calibration'] },
  { name: 'force', prefix: 't', aliases: ['force', 'forcenet'] },
  { name: '2k', prefix: 't', aliases: ['2k', 'devnet'] },
  { name: 'butterfly', prefix: 't', aliases: ['butterfly', 'butterflynet'] },
  { name: 'interop', prefix: 't', aliases: ['interop', 'interopnet'] },
  { name: 'integrationnet', prefix: 't', aliases: ['integrationnet', 'integration'] },
  { name: 'nerpa', prefix: 't', aliases: ['nerpa', 'nerpanet'] },
];

/** Every accepted spelling, for help texts and errors. */
export const NETWORK_SPELLINGS: readonly string[] = NETWORKS.flatMap((n) => n.aliases);

export class UnknownNetworkError extends Error {
  constructor(readonly given: string) {
    super(`unknown network ${JSON.stringify(given)} (one of ${NETWORK_SPELLINGS.join(', ')})`);
    this.name = 'UnknownNetworkError';
  }
}

/** The network a name means, or undefined. Case and surrounding spaces do not matter. */
export function findNetwork(name: string): NetworkName | undefined {
  const k = name.trim().toLowerCase();
  return NETWORKS.find((n) => n.aliases.includes(k));
}

/** The network a name means; throws UnknownNetworkError (naming every accepted spelling) for any other name. */
export function parseNetwork(name: string): NetworkName {
  const n = findNetwork(name);
  if (!n) throw new UnknownNetworkError(name);
  return n;
}

/**
 * The address prefix for the name a chain reports about itself. Lenient on purpose: a chain's own name we do not
 * know (a private network) is a test network, so `t`.
 */
export function prefixOfChainName(name: string | undefined): Network {
  if (!name) return 'f';
  return findNetwork(name)?.prefix ?? 't';
}
