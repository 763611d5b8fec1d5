/**
 * `util miner create` checks the sector size against the chain before it sends anything: a size the chain does not
 * accept would fail in the actor (ErrIllegalArgument, "proof type … not allowed") after the gas is paid. The chain's
 * accepted seal proofs come from StateGetNetworkParams (SupportedProofTypes); a chain that does not say is not
 * second-guessed.
 */
import type { NetworkParams } from '../api/full.js';
import { UserError } from '../common/cli.js';
import { formatSectorSize, SEAL_PROOFS } from '../proofs/index.js';

/** Throws a UserError naming the accepted sizes (and, on the devnet, the flag that adds a size) for a refused one. */
export function checkMinerSectorSize(
  params: Pick<NetworkParams, 'NetworkName' | 'SupportedProofTypes'>,
  sectorSize: number,
  sealProof: number,
): void {
  const allowed = params.SupportedProofTypes;
  if (!allowed || allowed.length === 0 || allowed.includes(sealProof)) return;
  const sizes = allowed
    .map((id) => SEAL_PROOFS.find((p) => p.id === id)?.sectorSize)
    .filter((s): s is number => s !== undefined)
    .map(formatSectorSize);
  const size = formatSectorSize(sectorSize);
  const devnet =
    params.NetworkName === '2k'
      ? `; on venus-devnet, create the devnet with \`venus-devnet init --sector-sizes ${[...new Set([...sizes, size])].join(',')}\``
      : '';
  throw new UserError(
    `--sector-size ${size}: the chain (${params.NetworkName}) does not accept ${size} sectors (seal proof ${sealProof}); it accepts ${sizes.join(', ') || 'none of the known sizes'}. Nothing was sent${devnet}`,
  );
}
