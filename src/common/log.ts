/**
 * Structured logging in the style Venus operators know:
 *   2021-09-28T16:51:03.850+0800  INFO  module  message  {"key": "value"}
 * or one JSON object per line (LOG_FORMAT=json) with the same fields.
 *
 * pino does the work (levels, child loggers, serialisation); we only pick the output shape.
 * Logs always go to stderr so that a command's stdout stays machine-readable.
 */
import { type Logger as PinoLogger, pino } from 'pino';

export type Logger = PinoLogger;
export type LevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

const LEVELS: readonly LevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const LEVEL_ALIASES: Record<string, LevelName> = { warning: 'warn', err: 'error', off: 'silent', none: 'silent' };

/** Parse one level word; throws with the accepted words on a typo. */
export function parseLevel(word: string): LevelName {
  const w = word.trim().toLowerCase();
  const l = (LEVEL_ALIASES[w] ?? w) as LevelName;
  if (!LEVELS.includes(l)) throw new Error(`unknown log level "${word}" (expected one of ${LEVELS.join(', ')})`);
  return l;
}

/**
 * Level directives as RUST_LOG / GOLOG_LOG_LEVEL write them: "info" or "info,sealing=debug,rpc=warn".
 * Returns the default level and per-module overrides.
 */
export function parseLevelSpec(spec: string): { level: LevelName; modules: Map<string, LevelName> } {
  let level: LevelName = 'info';
  const modules = new Map<string, LevelName>();
  for (const part of spec.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq < 0) level = parseLevel(p);
    else modules.set(p.slice(0, eq).trim(), parseLevel(p.slice(eq + 1)));
  }
  return { level, modules };
}

interface LogState {
  level: LevelName;
  modules: Map<string, LevelName>;
  root: PinoLogger;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Local time with offset, as Go's zap/golog prints it. */
export function formatLocalTime(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const msPart = String(d.getMilliseconds()).padStart(3, '0');
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:` +
    `${pad2(d.getSeconds())}.${msPart}${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`
  );
}

/**
 * pino writes here; where it goes and in which shape can change after loggers exist
 * (modules create their loggers at import time, before the CLI has parsed --log-level).
 */
class Destination {
  out: NodeJS.WritableStream = process.stderr;
  format: 'text' | 'json' = process.env.LOG_FORMAT === 'json' ? 'json' : 'text';
  write(line: string): boolean {
    if (this.format === 'json') return this.out.write(line);
    return this.out.write(toText(line));
  }
}

/** One pino JSON line to one Venus-style text line. */
export function toText(line: string): string {
  try {
    const { time, level, module, msg, ...fields } = JSON.parse(line);
    const lvl = String(level).toUpperCase().padEnd(5);
    const extra = Object.keys(fields).length ? `\t${JSON.stringify(fields)}` : '';
    return `${formatLocalTime(Date.parse(time))}\t${lvl}\t${module ?? 'main'}\t${msg ?? ''}${extra}\n`;
  } catch {
    return line;
  }
}

function envLevelSpec(): string | undefined {
  return process.env.VENUS_LOG_LEVEL ?? process.env.GOLOG_LOG_LEVEL ?? process.env.RUST_LOG ?? undefined;
}

const destination = new Destination();
const initial = parseLevelSpecSafe(envLevelSpec());
const state: LogState = {
  level: initial.level,
  modules: initial.modules,
  root: pino(
    {
      level: 'trace', // per-module levels are set on the children
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['PrivateKey', 'privateKey', 'password', 'Password', 'token', 'Token', '*.PrivateKey', '*.privateKey'],
        censor: '***',
      },
    },
    destination,
  ),
};

function parseLevelSpecSafe(spec: string | undefined): { level: LevelName; modules: Map<string, LevelName> } {
  try {
    return parseLevelSpec(spec ?? 'info');
  } catch {
    return { level: 'info', modules: new Map() };
  }
}

/**
 * Configure logging early in a CLI. `levelSpec` (from --log-level) beats the environment;
 * a bad spec throws so the CLI can refuse it clearly.
 */
export function setupLogging(
  opts: { levelSpec?: string; format?: 'text' | 'json'; dest?: NodeJS.WritableStream } = {},
) {
  const spec = parseLevelSpec(opts.levelSpec ?? envLevelSpec() ?? 'info');
  state.level = spec.level;
  state.modules = spec.modules;
  if (opts.format) destination.format = opts.format;
  if (opts.dest) destination.out = opts.dest;
  for (const [name, l] of loggers) l.level = levelFor(name);
}

function levelFor(module: string): LevelName {
  // "sealing" also covers "sealing.pc1": the longest matching prefix wins.
  let best: LevelName | undefined;
  let bestLen = -1;
  for (const [m, l] of state.modules) {
    if ((module === m || module.startsWith(`${m}.`)) && m.length > bestLen) {
      best = l;
      bestLen = m.length;
    }
  }
  return best ?? state.level;
}

const loggers = new Map<string, PinoLogger>();

/** One logger per module ("wallet", "sealing.pc1", "rpc", …). */
export function logger(module: string): Logger {
  let l = loggers.get(module);
  if (!l) {
    l = state.root.child({ module });
    l.level = levelFor(module);
    loggers.set(module, l);
  }
  return l;
}
