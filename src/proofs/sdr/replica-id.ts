/**
 * Replica ID (storage-proofs-porep `stacked/vanilla/params.rs: generate_replica_id`):
 *   trunc254(SHA256(prover_id[32] ‖ sector_id u64 BE ‖ ticket[32] ‖ comm_d[32] ‖ porep_id[32]))
 * 136 bytes in. Note the big-endian sector id (PoSt uses little-endian). trunc254 clears the top two bits
 * of the last byte so the result is a BLS12-381 scalar (LE repr).
 */
import { createHash } from 'node:crypto';

function check32(name: string, b: Uint8Array): void {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new RangeError(`${name} must be 32 bytes`);
}

export function generateReplicaId(
  proverId: Uint8Array,
  sectorId: bigint | number,
  ticket: Uint8Array,
  commD: Uint8Array,
  porepId: Uint8Array,
): Uint8Array {
  check32('prover_id', proverId);
  check32('ticket', ticket);
  check32('comm_d', commD);
  check32('porep_id', porepId);
  const id = BigInt(sectorId);
  if (id < 0n || id >= 1n << 64n) throw new RangeError(`sector id ${sectorId} is not a u64`);
  const sid = Buffer.alloc(8);
  sid.writeBigUInt64BE(id);
  const out = new Uint8Array(
    createHash('sha256').update(proverId).update(sid).update(ticket).update(commD).update(porepId).digest(),
  );
  out[31]! &= 0x3f;
  return out;
}

/**
 * The prover id Lotus derives from a miner actor id: the ID address payload (the actor id as unsigned
 * LEB128 varint), zero-padded to 32 bytes (`lotus/chain/actors/builtin/miner: toProverID` and
 * filecoin-ffi `to_prover_id`).
 */
export function proverIdFromActorId(actorId: bigint | number): Uint8Array {
  let v = BigInt(actorId);
  if (v < 0n || v >= 1n << 64n) throw new RangeError(`actor id ${actorId} is not a u64`);
  const out = new Uint8Array(32);
  let i = 0;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out[i++] = byte;
  } while (v !== 0n);
  return out;
}
