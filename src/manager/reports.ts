/**
 * What workers report, checked before it is stored or becomes a metric label (docs/security.md): a worker's
 * strings go into the sectors table, the sector timelines and Prometheus series, so their shape and size are
 * bounded here. Free text (failure descriptions, abort reasons) is cut at MAX_TEXT with a marker; names at
 * MAX_NAME; a report without the fields every worker sends is refused.
 */
import type { ReportStateReq, WorkerInfo } from '../api/sealer.js';
import { ErrorCode, RpcError } from '../rpc/index.js';
import { isState } from '../worker/sealing/states.js';

/** Longest free text kept from a worker (failure description, abort reason), in UTF-16 code units. */
export const MAX_TEXT = 4096;
/** Longest name kept from a worker (state, event, seal store instance and location, failure level). */
export const MAX_NAME = 256;

/** States the manager itself records in a sector's timeline. */
const MANAGER_STATES = new Set(['Allocated', 'Finalized', 'Aborted', 'Restored']);

/** A state name as a metric label: the sealer plan's states and the manager's own, anything else "other". */
export function metricState(state: string): string {
  return isState(state) || MANAGER_STATES.has(state) ? state : 'other';
}

/** `s` cut to `max` code units, with a marker saying how long it was. */
export function capText(s: string, max = MAX_TEXT): string {
  if (s.length <= max) return s;
  const marker = ` … [truncated: ${s.length} chars]`;
  return s.slice(0, max - marker.length) + marker;
}

function invalid(what: string): RpcError {
  return new RpcError(ErrorCode.InvalidParams, `ReportState: ${what}`);
}

function name(v: unknown, field: string, allowEmpty = true): string {
  if (typeof v !== 'string') throw invalid(`${field} must be a string`);
  if (!allowEmpty && v === '') throw invalid(`${field} must not be empty`);
  return capText(v, MAX_NAME);
}

/** A ReportStateReq as it may be stored: every field present and typed, strings bounded. */
export function checkReport(req: unknown): ReportStateReq {
  if (!req || typeof req !== 'object') throw invalid('the report must be an object');
  const { Worker, StateChange, Failure } = req as Record<string, unknown>;
  if (!Worker || typeof Worker !== 'object') throw invalid('Worker {Instance, Location} is required');
  if (!StateChange || typeof StateChange !== 'object') throw invalid('StateChange {Prev, Next, Event} is required');
  const w = Worker as Record<string, unknown>;
  const c = StateChange as Record<string, unknown>;
  let failure: ReportStateReq['Failure'] = null;
  if (Failure !== null && Failure !== undefined) {
    if (typeof Failure !== 'object') throw invalid('Failure must be null or {Level, Desc}');
    const f = Failure as Record<string, unknown>;
    if (typeof f.Desc !== 'string') throw invalid('Failure.Desc must be a string');
    failure = { Level: name(f.Level, 'Failure.Level'), Desc: capText(f.Desc) };
  }
  return {
    Worker: { Instance: name(w.Instance, 'Worker.Instance'), Location: name(w.Location, 'Worker.Location') },
    StateChange: {
      Prev: name(c.Prev, 'StateChange.Prev'),
      Next: name(c.Next, 'StateChange.Next', false),
      Event: name(c.Event, 'StateChange.Event'),
    },
    Failure: failure,
  };
}

/** An abort reason as stored: a string (anything else refused), bounded. */
export function checkReason(reason: unknown): string {
  if (typeof reason !== 'string')
    throw new RpcError(ErrorCode.InvalidParams, 'ReportAborted: the reason must be a string');
  return capText(reason);
}

const SUMMARY_KEYS = ['Threads', 'Empty', 'Paused', 'Running', 'Waiting', 'Errors'] as const;

/** A WorkerPing's WorkerInfo as stored: names bounded, the summary counts non-negative integers. */
export function checkWorkerInfo(info: unknown): WorkerInfo {
  const bad = (what: string) => new RpcError(ErrorCode.InvalidParams, `WorkerPing: ${what}`);
  if (!info || typeof info !== 'object') throw bad('WorkerInfo must be an object');
  const i = info as Record<string, unknown>;
  if (typeof i.Name !== 'string' || i.Name === '') throw bad('WorkerInfo.Name is required');
  if (i.Name.length > MAX_NAME) throw bad(`WorkerInfo.Name is longer than ${MAX_NAME} characters`);
  for (const k of ['Dest', 'Version'] as const) {
    if (typeof i[k] !== 'string') throw bad(`WorkerInfo.${k} must be a string`);
    if ((i[k] as string).length > MAX_NAME) throw bad(`WorkerInfo.${k} is longer than ${MAX_NAME} characters`);
  }
  const sum = i.Summary as Record<string, unknown> | null | undefined;
  if (!sum || typeof sum !== 'object') throw bad('WorkerInfo.Summary is required');
  const summary = {} as WorkerInfo['Summary'];
  for (const k of SUMMARY_KEYS) {
    const n = sum[k];
    if (!Number.isSafeInteger(n) || (n as number) < 0)
      throw bad(`WorkerInfo.Summary.${k} must be a non-negative integer`);
    summary[k] = n as number;
  }
  return { Name: i.Name, Dest: i.Dest as string, Version: i.Version as string, Summary: summary };
}
