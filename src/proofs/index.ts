/**
 * Sealing and PoSt algorithms, bit-exact with rust-fil-proofs (pure: files in, bytes out; no RPC, no chain).
 * Services import from here, never from the module files.
 */
export * from './api/index.js';
export * from './commp.js';
export * from './fr32.js';
export * from './inclusion/index.js';
export * from './merkle.js';
export * from './pc2/index.js';
export * from './pieces.js';
export * from './porep/index.js';
export * from './poseidon/index.js';
export * from './post/index.js';
export * from './prover/index.js';
export * from './registry.js';
export * from './sdr/index.js';
export * from './sha256.js';
export * from './tree-d.js';
export * from './update/index.js';
