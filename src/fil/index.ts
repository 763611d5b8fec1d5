/**
 * Filecoin primitives (pure, no I/O): addresses, token amounts, CBOR, CIDs, messages, keys and
 * signatures, RLE+ bitfields, randomness. Services import from here, never from the module files.
 */

export * from './actors/datacap.js';
export * from './actors/frc42.js';
export * from './actors/market.js';
export * from './actors/miner-update.js';
export * from './actors/verifreg.js';
export * from './address.js';
export * from './bitfield.js';
export * from './bytes.js';
export * from './cbor.js';
export * from './cid.js';
export * from './errors.js';
export * from './keys.js';
export * from './message.js';
export * from './network.js';
export * from './randomness.js';
export * from './signature.js';
export * from './token.js';
