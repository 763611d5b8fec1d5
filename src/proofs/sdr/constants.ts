/**
 * SDR constants. The per-size and per-proof tables live in the registry (src/proofs/registry.ts); this
 * module only names what the SDR code uses.
 */
export { NODE_SIZE } from '../merkle.js';
export { type ApiVersion, BASE_DEGREE, DEGREE, EXP_DEGREE } from '../registry.js';
