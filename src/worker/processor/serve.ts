/**
 * The child side of the external processor protocol: `venus-worker processor <stage>` prints its ready line,
 * then runs every request as it arrives (concurrently, answering in completion order) and writes one JSON
 * response line per request. Logs go to stderr; stdout carries only protocol lines. Serving the real stdin, it
 * exits as soon as its parent is gone (stdin ends, or its parent pid changes), abandoning tasks in flight.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { type ProcessorRequest, type ProcessorResponse, readyLine, watchParent } from '../../common/extproc/index.js';
import { logger } from '../../common/log.js';

const log = logger('processor');

export type TaskHandler = (task: unknown) => Promise<unknown>;

export interface ServeOptions {
  input?: Readable;
  output?: Writable;
  /**
   * Exit the process when the input ends (even mid-task) and when the parent process dies. Default: on when
   * serving the process's own stdin; with other streams (tests) the input's end waits for tasks in flight.
   */
  exitWithParent?: boolean;
}

/** Serves requests until the input ends; then exits (exitWithParent) or waits for the requests in flight. */
export async function serveProcessor(stage: string, handle: TaskHandler, opts: ServeOptions = {}): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const exitWithParent = opts.exitWithParent ?? opts.input === undefined;
  // the watchdog runs before the ready line: a task can only arrive once it is watching
  if (exitWithParent) await watchParent();
  const write = (r: ProcessorResponse) =>
    new Promise<void>((res) => {
      output.write(`${JSON.stringify(r)}\n`, () => res());
    });
  output.write(`${readyLine(stage)}\n`);
  const inflight = new Set<Promise<void>>();
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let req: ProcessorRequest;
    try {
      req = JSON.parse(line) as ProcessorRequest;
      if (typeof req.id !== 'number') throw new Error('no numeric "id"');
    } catch (err) {
      log.error({ stage, line: line.slice(0, 100) }, `undecodable request: ${(err as Error).message}`);
      continue;
    }
    const p = (async () => {
      const t0 = performance.now();
      try {
        const out = await handle(req.task);
        log.debug({ stage, id: req.id, ms: Math.round(performance.now() - t0) }, 'task done');
        await write({ id: req.id, err_msg: null, output: out === undefined ? null : out });
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        log.warn({ stage, id: req.id }, `task failed: ${msg}`);
        await write({ id: req.id, err_msg: msg, output: null });
      }
    })();
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }
  if (exitWithParent) {
    // only the worker holds the other end of stdin: it exited (or was killed); its tasks are nobody's now
    if (inflight.size) log.warn({ stage, tasks: inflight.size }, 'stdin closed: the worker is gone, abandoning tasks');
    process.exit(0);
  }
  await Promise.all(inflight);
}
