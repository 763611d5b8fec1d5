/**
 * The worker's persist stores as the manager knows them. The manager matches a store by its Name, else by its
 * Path (a worker's `[remote]` store is named after its path unless `name` is set), and refuses an offer it
 * cannot match with a message naming both config keys. The worker checks its stores at start, and says once
 * when the manager refuses them (docs/worker-waits.md, "Persist stores").
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { PersistStoresRefusedError } from '../../api/errors.js';
import type { StoreBasicInfo } from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import type { PersistStoreConfig } from '../config.js';
import { prefixed } from './failure.js';
import type { SealerClient } from './thread.js';

const log = logger('sealing');

/** The two keys that must agree, for messages. */
export const STORE_KEYS =
  "the worker's [remote] name (or [[attached]] name) must equal sector-manager.cfg [[PersistedStore.Stores]] Name, " +
  "or the worker's path that entry's Path";

function canonical(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync.native(abs);
  } catch {
    return abs;
  }
}

/** Whether two paths name the same directory (absolute, symlinks resolved while they exist). */
export function samePath(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

/** The attached store the manager's answer means: by name, else the one at the same path. */
export function attachedStore(stores: PersistStoreConfig[], info: StoreBasicInfo): PersistStoreConfig | undefined {
  return stores.find((s) => s.name === info.Name) ?? stores.find((s) => samePath(s.location, info.Path));
}

/**
 * Whether a manager's error refuses the offer itself (unknown or read-only stores: a config mismatch that only
 * an operator fixes), rather than the call (connection, timeout, an unknown sector): the manager sends it typed.
 */
export function isStoreRefusal(err: unknown): err is PersistStoresRefusedError {
  return err instanceof PersistStoresRefusedError;
}

/** The worker's ERROR line for a refused offer: the manager's reason, which names the config keys to set. */
export function refusalLine(err: PersistStoresRefusedError): string {
  return prefixed('Venus.StoreReserveSpace', err);
}

/**
 * At start: asks the manager about each attached persist store (Venus.StoreBasicInfo) and warns about one it
 * does not know, before a sector reaches it. An unreachable manager is only noted: the worker waits for it,
 * and StoreReserveSpace says the same later. Resolves to the names the manager does not know.
 */
export async function checkPersistStoresAtManager(
  manager: Pick<SealerClient, 'StoreBasicInfo'>,
  stores: PersistStoreConfig[],
): Promise<string[]> {
  const unknown: string[] = [];
  for (const s of stores) {
    let info: StoreBasicInfo | null;
    try {
      info = await manager.StoreBasicInfo(s.name);
    } catch (err) {
      log.info(
        { store: s.name },
        `persist stores not checked at start: Venus.StoreBasicInfo: ${(err as Error).message} (checked again when a sector is persisted)`,
      );
      return unknown;
    }
    if (!info) {
      unknown.push(s.name);
      log.warn(
        { store: s.name, path: s.location },
        `persist store ${JSON.stringify(s.name)} at ${s.location} is unknown to the manager: sectors will wait ` +
          `after PreCommit until it is; ${STORE_KEYS} (see "venus-sector-manager util storage list")`,
      );
    } else if (info.Name !== s.name) {
      log.info(
        { store: s.name, manager: info.Name },
        `persist store at ${s.location} is the manager's ${JSON.stringify(info.Name)} (same path)`,
      );
    } else if (info.ReadOnly && !s.readonly) {
      log.warn(
        { store: s.name },
        `persist store ${JSON.stringify(s.name)} is read-only on the manager: no sector will be persisted there`,
      );
    }
  }
  return unknown;
}
