/**
 * `daemon run`'s start-up probes: one authenticated call to the chain node ([Chain]) and one to the messager
 * ([Messager]) before anything else starts, so a wrong address or token is reported at once, in one line naming
 * the config key to fix, instead of at the first PreCommit as a WebSocket error.
 */
import { UserError } from '../common/cli.js';
import { logger } from '../common/log.js';
import { ErrorCode, parseApiInfo } from '../rpc/index.js';
import type { ChainAPI, MessagerAPI } from './chain.js';
import type { ManagerConfig } from './config.js';

const log = logger('sealer');

/** How long one probe call may take (a black-holed address would otherwise hang the start). */
export const PROBE_TIMEOUT_MS = 15_000;

type Section = 'Chain' | 'Messager';

/** Why a probe call failed, with the config key that fixes it. */
export function explainProbeFailure(section: Section, api: string, err: unknown): string {
  const what = section === 'Chain' ? 'the chain node' : 'the messager';
  const e = err as { code?: unknown; message?: string };
  let url = api;
  try {
    url = parseApiInfo(api, { version: section === 'Chain' ? 'v1' : 'v0' }).url;
  } catch {
    // the address did not parse: connectServices said so already; keep the configured text
  }
  // the client prefixes messages with the URL; said once, up front
  const msg = String(e?.message ?? err)
    .replace(`${url}: `, '')
    .trim();
  const file = 'sector-manager.cfg';
  let why: string;
  if (e?.code === ErrorCode.Unauthorized) why = `token refused ([${section}] Token in ${file}): ${msg}`;
  else if (e?.code === ErrorCode.App && /permission|perm\b/i.test(msg))
    why = `the token lacks a permission ([${section}] Token in ${file}): ${msg}`;
  else if (e?.code === ErrorCode.Connection || e?.code === ErrorCode.Timeout)
    why = `${msg} ([${section}] Api in ${file})`;
  else why = `${msg} (check [${section}] Api and Token in ${file})`;
  return `cannot reach ${what} at ${url}: ${why}`;
}

async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`${what}: no answer within ${PROBE_TIMEOUT_MS / 1000}s`) as Error & { code: number };
      err.code = ErrorCode.Timeout;
      reject(err);
    }, PROBE_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls the chain node (ChainHead) and the messager (HasMessageByUid of an id nobody uses: read permission, no
 * side effect). On failure runs `closers` (the clients opened so far) and throws a UserError: one line naming the
 * service, its address and the [Chain]/[Messager] key to fix.
 */
export async function probeServices(
  cfg: ManagerConfig,
  chain: Pick<ChainAPI, 'ChainHead'>,
  messager: Pick<MessagerAPI, 'HasMessageByUid'>,
  closers: (() => Promise<void> | void)[] = [],
): Promise<void> {
  const fail = async (section: Section, api: string, err: unknown): Promise<never> => {
    for (const c of closers) {
      try {
        await c();
      } catch {
        // closing what failed to open; the probe's error is the one to report
      }
    }
    throw new UserError(explainProbeFailure(section, api, err));
  };
  let height: number;
  try {
    height = (await within(chain.ChainHead(), 'ChainHead')).Height;
  } catch (err) {
    return fail('Chain', cfg.Chain.Api, err);
  }
  try {
    await within(messager.HasMessageByUid('venus-sector-manager-startup-probe'), 'HasMessageByUid');
  } catch (err) {
    return fail('Messager', cfg.Messager.Api, err);
  }
  log.info({ chain: cfg.Chain.Api, messager: cfg.Messager.Api, height }, 'chain node and messager reachable');
}
