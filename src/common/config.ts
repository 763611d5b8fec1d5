/**
 * TOML configuration files as operators write them: parsed with smol-toml, checked with a zod schema
 * (unknown keys refused), and every problem reported as "FILE: Key.Path: reason" at start.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** The file could not be read at all; `code` is the system's (ENOENT: it is not there), for callers to branch on. */
export class ConfigReadError extends ConfigError {
  constructor(
    file: string,
    readonly code: string | undefined,
    reason: string,
  ) {
    super(file, [`cannot read: ${reason}`]);
    this.name = 'ConfigReadError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

/** zod issues as "Key.Path: reason" lines. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    if (i.code === 'unrecognized_keys') {
      const at = i.path.length ? `${formatPath(i.path)}: ` : '';
      return `${at}unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    let msg = i.message.replace(/^Invalid input: /, '');
    if (i.code === 'invalid_type' && /received undefined/.test(msg)) msg = 'missing (required)';
    return `${formatPath(i.path)}: ${msg}`;
  });
}

/** Validates an already-parsed object (e.g. TOML text from elsewhere) against a schema. */
export function checkConfig<S extends z.ZodType>(file: string, raw: unknown, schema: S): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new ConfigError(file, describeIssues(r.error.issues));
  return r.data;
}

export function parseConfigText<S extends z.ZodType>(file: string, text: string, schema: S): z.output<S> {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      throw new ConfigError(file, [
        `TOML syntax error at line ${err.line}, column ${err.column}: ${err.message.split('\n')[0]}`,
      ]);
    }
    throw err;
  }
  return checkConfig(file, raw, schema);
}

export function loadConfigFile<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigReadError(file, code, code ?? (err as Error).message);
  }
  return parseConfigText(file, text, schema);
}

/** Expands a leading "~" the way operators' configs use it. */
export function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return homedir() + p.slice(1);
  return p;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go duration strings ("1m30s", "500ms", "168h") to milliseconds. */
export function parseDuration(s: string): number {
  const str = s.trim();
  if (str === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(str))) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos === 0 || pos !== str.length) throw new Error(`bad duration "${s}" (expected e.g. "30s", "1m30s", "500ms")`);
  return total;
}

/** Milliseconds to a Go duration string, for writing configs back. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

/** A zod field for Go durations: accepts "1m30s" and yields milliseconds. */
export const duration = () =>
  z.string().transform((s, ctx) => {
    try {
      return parseDuration(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
