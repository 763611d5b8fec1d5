/**
 * `npm start -- --deals N`: keeps N client files flowing through the running cluster, as a stream of storage
 * clients would: random payloads of mixed sizes (each fits one sector), alternately a verified direct (DDO)
 * allocation, a builtin-market deal and a verified builtin-market deal, imported with the devnet's client
 * (`venus-devnet client import`). A deal counts as flowing until the chain shows it active; then the next file is
 * imported. What the client imported and what became active is said in the live view.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The kinds of deal the flow cycles through. */
export const DEAL_KINDS = [
  { kind: 'ddo', verified: true },
  { kind: 'market', verified: false },
  { kind: 'market', verified: true },
] as const;

export interface ClientDeal {
  piece: string;
  state: string;
  sector?: number;
}

export interface DealFlowOptions {
  /** How many imported deals may be not yet active at once. */
  count: number;
  sectorSize: number;
  /** The miner the deals are for ("t01000"). */
  provider: () => string | undefined;
  /** Where the client files are written. */
  dir: string;
  /** Runs `venus-devnet client ARGS…` and resolves with its stdout (rejects on failure). */
  client: (args: string[]) => Promise<string>;
  /** A line for the live view. */
  event: (line: string) => void;
  /** Random source for sizes (tests pin it). */
  random?: () => number;
}

/**
 * The payload size of the n-th file: between a sixteenth and all of the sector's unpadded size, so pieces of
 * several padded sizes appear and some sectors hold more than one.
 */
export function payloadSize(sectorSize: number, r: number): number {
  const unpadded = (sectorSize / 128) * 127;
  const shares = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1];
  const share = shares[Math.min(shares.length - 1, Math.floor(r * shares.length))]!;
  // 60–100 % of the share, at least one byte
  const jitter = 0.6 + 0.4 * ((r * shares.length) % 1);
  return Math.max(1, Math.floor(unpadded * share * jitter));
}

/** `venus-devnet client list --json`: each deal's piece, state and sector (fields named as the CLI prints them). */
export function parseClientList(stdout: string): ClientDeal[] {
  const v = JSON.parse(stdout) as unknown;
  const items = Array.isArray(v) ? v : ((v as { deals?: unknown[] })?.deals ?? []);
  const out: ClientDeal[] = [];
  for (const it of items as Record<string, unknown>[]) {
    const piece = String(it.pieceCid ?? it.PieceCID ?? it.piece ?? '');
    const state = String(it.state ?? it.State ?? '');
    const sector = it.sector ?? it.Sector ?? it.sectorNumber;
    if (!piece) continue;
    out.push({ piece, state, ...(typeof sector === 'number' && sector > 0 ? { sector } : {}) });
  }
  return out;
}

const ACTIVE = /^(active|proving)$/i;
const DEAD = /^(expired|slashed|failed|released|error)/i;

export class DealFlow {
  private n = 0;
  private readonly pending = new Map<string, number>();
  private busy = false;
  imported = 0;
  activated = 0;

  constructor(private readonly o: DealFlowOptions) {
    mkdirSync(o.dir, { recursive: true });
  }

  /** One step: note activations, then import files until `count` are flowing. Never throws (the view says why). */
  async tick(): Promise<void> {
    if (this.busy) return;
    const provider = this.o.provider();
    if (!provider) return;
    this.busy = true;
    try {
      if (this.pending.size > 0) {
        const deals = parseClientList(await this.o.client(['list', '--json']));
        for (const d of deals) {
          const n = this.pending.get(d.piece);
          if (n === undefined) continue;
          if (ACTIVE.test(d.state)) {
            this.pending.delete(d.piece);
            this.activated++;
            this.o.event(`deal flow: file ${n} (${d.piece}) active${d.sector ? ` in sector ${d.sector}` : ''}`);
          } else if (DEAD.test(d.state)) {
            this.pending.delete(d.piece);
            this.o.event(`deal flow: file ${n} (${d.piece}) ended ${d.state} without activation`);
          }
        }
      }
      while (this.pending.size < this.o.count) await this.importOne(provider);
    } catch (err) {
      this.o.event(`deal flow: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      this.busy = false;
    }
  }

  private async importOne(provider: string): Promise<void> {
    const n = ++this.n;
    const random = this.o.random ?? Math.random;
    const size = payloadSize(this.o.sectorSize, random());
    const file = join(this.o.dir, `client-${n}.bin`);
    writeFileSync(file, randomBytes(size));
    const { kind, verified } = DEAL_KINDS[(n - 1) % DEAL_KINDS.length]!;
    const args = ['import', file, '--provider', provider, '--kind', kind, ...(verified ? ['--verified'] : [])];
    const out = await this.o.client(args);
    const piece = /\b(baga6ea4sea[a-z2-7]+)\b/.exec(out)?.[1];
    if (!piece) throw new Error(`client import ${file} printed no piece CID: ${out.trim().slice(0, 200)}`);
    this.pending.set(piece, n);
    this.imported++;
    this.o.event(`deal flow: imported file ${n} (${size} B, ${verified ? 'verified ' : ''}${kind}) as ${piece}`);
  }
}
