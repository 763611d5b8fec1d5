/**
 * Getting a piece's payload back for a client: from the piece store's unsealed copy, or — when there is none,
 * or the client insists — by asking the provider's sealer to unseal it (a SectorsUnsealPiece market event whose
 * Dest is this market's piece store) and waiting for the sealer's answer and the upload. One job per piece.
 */
import type { UnsealRequest } from '../../api/market.js';
import { logger } from '../../common/log.js';
import { unpaddedPieceSize } from '../../proofs/index.js';
import type { RetrievalStatus } from './client-api.js';
import type { DealRow, DealStore } from './db.js';
import type { MarketEvents } from './events.js';
import type { PieceStore } from './pieces.js';

const log = logger('devnet.market.retrieval');

/** The store name in the unseal Dest (market://<store>/<cid>): the sealer adds host and token, as damocles does. */
export const PIECE_STORE_NAME = 'pieces';

interface Job {
  state: 'unsealing' | 'failed' | 'done';
  error: string;
  /** set when the piece store received the piece during the job */
  stored: boolean;
}

/** The UnsealRequest for a piece in an active deal: offsets and sizes unpadded, as damocles reads them. */
export function unsealRequest(d: DealRow): UnsealRequest {
  if (d.sector === null || d.offset === null) throw new Error(`deal ${d.id} has no sector`);
  return {
    PieceCid: { '/': d.piece_cid },
    Miner: d.provider,
    Sid: d.sector,
    Offset: (d.offset / 128) * 127,
    Size: unpaddedPieceSize(d.piece_size),
    Dest: `market://${PIECE_STORE_NAME}/${d.piece_cid}`,
  };
}

export class Retrieval {
  private readonly jobs = new Map<string, Job>();

  constructor(
    private readonly store: DealStore,
    private readonly pieces: PieceStore,
    private readonly events: MarketEvents,
    private readonly unsealTimeoutMs: number,
  ) {}

  /** The piece store received `pieceCid` (called by the store). */
  stored(pieceCid: string): void {
    const j = this.jobs.get(pieceCid);
    if (j) j.stored = true;
  }

  status(pieceCid: string, unseal: boolean): RetrievalStatus {
    const deals = this.store.byPiece(pieceCid);
    const payload = deals[0]?.payload_size ?? this.pieces.size(pieceCid) ?? 0;
    const out = (state: RetrievalStatus['State'], error = ''): RetrievalStatus => ({
      PieceCID: pieceCid,
      State: state,
      PayloadSize: payload,
      Error: error,
    });
    const job = this.jobs.get(pieceCid);
    if (job?.state === 'unsealing') return out('unsealing');
    if (!unseal) {
      if (job?.state === 'failed') {
        this.jobs.delete(pieceCid); // reported once; the next ask starts over
        return out('failed', job.error);
      }
      if (this.pieces.size(pieceCid) !== undefined) return out('ready');
    }
    const active = deals.find((d) => d.state === 'active' && d.sector !== null && d.offset !== null);
    if (!active) {
      if (!deals.length) return out('failed', `piece ${pieceCid} is in no deal and not in the piece store`);
      return out(
        'failed',
        `piece ${pieceCid} has no unsealed copy and no active deal to unseal it from (deals: ${deals
          .map((d) => `${d.kind} ${d.state}`)
          .join(', ')})`,
      );
    }
    this.start(active);
    return out('unsealing');
  }

  private start(d: DealRow): void {
    const job: Job = { state: 'unsealing', error: '', stored: false };
    this.jobs.set(d.piece_cid, job);
    const req = unsealRequest(d);
    log.info(
      { piece: d.piece_cid, miner: d.provider, sector: d.sector, offset: req.Offset },
      'asking the sealer to unseal',
    );
    void this.untilFinished(req, job)
      .then(() => {
        // the upload must come during this job: an older copy does not answer a fresh unseal
        if (!job.stored) throw new Error('the sealer reported the unseal done, but no piece reached the piece store');
        job.state = 'done';
        log.info({ piece: d.piece_cid, sector: d.sector }, 'piece unsealed into the piece store');
      })
      .catch((e: Error) => {
        job.state = 'failed';
        job.error = `unseal of ${d.piece_cid} from sector ${d.sector} failed: ${e.message}`;
        log.warn({ piece: d.piece_cid, sector: d.sector, err: e.message }, 'unseal failed');
      });
  }

  /**
   * Asks until the sealer answers "finished" (or an error): a sealer holds a request only so long and then answers
   * with the task's current state (set_up, unsealing, uploading), as damocles does; droplet asks again.
   */
  private async untilFinished(req: UnsealRequest, job: Job): Promise<void> {
    const end = Date.now() + this.unsealTimeoutMs;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`not finished within ${Math.round(this.unsealTimeoutMs / 1000)} s`);
      const answer = await this.events.unseal(req, left);
      const state = unsealAnswerState(answer);
      if (state === undefined || state === 'finished' || job.stored) return;
      log.info({ piece: req.PieceCid['/'], state }, 'the sealer is still unsealing; asking again');
      await new Promise((r) => setTimeout(r, Math.min(5_000, Math.max(0, end - Date.now()))));
    }
  }
}

/** The state in a sealer's answer (a JSON string such as "finished"); undefined when it carries none. */
export function unsealAnswerState(payload: Uint8Array | null | undefined): string | undefined {
  if (!payload || payload.length === 0) return undefined;
  try {
    const v = JSON.parse(new TextDecoder().decode(payload)) as unknown;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
