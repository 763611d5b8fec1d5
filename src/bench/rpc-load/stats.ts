/** Call latencies of the manager-rpc benchmark: every sample kept per method, percentiles by sorting. */

export interface MethodFigures {
  method: string;
  calls: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LoadFigures {
  workers: number;
  seconds: number;
  calls: number;
  errors: number;
  callsPerSecond: number;
  p50: number;
  p99: number;
  /** sectors that reached ReportFinalized in the window */
  sectorsFinished: number;
  methods: MethodFigures[];
  /** the first few distinct error messages */
  errorSamples: string[];
  /** CPU cores each process kept busy during the window (CPU seconds ÷ seconds), where /proc tells */
  cpu?: { manager?: number; devnet?: number; bench?: number };
  /** calls still unanswered after a second when the window closed (not in the latencies), and the oldest, ms */
  stuck?: { calls: number; oldestMs: number };
  /** the machine's 1-minute load average at the end of the window, and its CPU count (a shared machine shows here) */
  load?: { avg1: number; cpus: number };
}

/** The q-quantile (0..1) of ascending samples, nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

class Samples {
  private buf = new Float64Array(1024);
  n = 0;
  errors = 0;
  add(ms: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = ms;
  }
  sorted(): Float64Array {
    return this.buf.slice(0, this.n).sort();
  }
}

export class LatencyStats {
  private readonly byMethod = new Map<string, Samples>();
  private readonly errorText = new Set<string>();
  sectorsFinished = 0;
  /** samples are kept only while recording (the warm-up is not measured) */
  recording = false;

  private of(method: string): Samples {
    let s = this.byMethod.get(method);
    if (!s) {
      s = new Samples();
      this.byMethod.set(method, s);
    }
    return s;
  }

  record(method: string, ms: number, err?: unknown): void {
    if (!this.recording) return;
    const s = this.of(method);
    if (!Number.isNaN(ms)) s.add(ms);
    if (err !== undefined) {
      s.errors++;
      if (this.errorText.size < 5) this.errorText.add(`${method}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A failure found in an answer (a refused submit, a failed message): counted, no latency sample. */
  fail(method: string, err: unknown): void {
    this.record(method, Number.NaN, err);
  }

  figures(workers: number, seconds: number): LoadFigures {
    const methods: MethodFigures[] = [];
    const all: number[] = [];
    let errors = 0;
    for (const [method, s] of [...this.byMethod].sort((a, b) => a[0].localeCompare(b[0]))) {
      const sorted = s.sorted();
      for (const v of sorted) all.push(v);
      errors += s.errors;
      methods.push({
        method,
        calls: s.n,
        errors: s.errors,
        p50: quantile(sorted, 0.5),
        p99: quantile(sorted, 0.99),
        max: sorted.length ? sorted[sorted.length - 1]! : 0,
      });
    }
    const sortedAll = Float64Array.from(all).sort();
    return {
      workers,
      seconds,
      calls: sortedAll.length,
      errors,
      callsPerSecond: sortedAll.length / seconds,
      p50: quantile(sortedAll, 0.5),
      p99: quantile(sortedAll, 0.99),
      sectorsFinished: this.sectorsFinished,
      methods,
      errorSamples: [...this.errorText],
    };
  }
}
