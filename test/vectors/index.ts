/**
 * Paths of the committed test vectors, relative to this file so a clone in any directory finds them.
 * Tests only: tsconfig.build.json never compiles test/, so nothing here reaches dist/.
 */
import { fileURLToPath } from 'node:url';

/** The 2 KiB sector rust-fil-proofs sealed for eigerco/polka-storage (see seal-2kib-polka/README.md). */
export const SEAL_2KIB_POLKA_DIR = fileURLToPath(new URL('./seal-2kib-polka/', import.meta.url));

/** Its 2032 bytes of unpadded data: one full-sector piece. */
export const SEAL_2KIB_POLKA_DATA = fileURLToPath(new URL('./seal-2kib-polka/data.bin', import.meta.url));
