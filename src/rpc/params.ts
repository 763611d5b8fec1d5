/**
 * Runtime check of a call's params against the schemas its declaration carries (`method(…, { params })`).
 * Validation only: the implementation receives the params exactly as sent, so a schema never changes a value
 * (no coercion, no defaults, unknown object keys kept as Go's encoding/json would ignore them).
 */
import type { ParamSchema, SchemaIssue } from './api.js';

/** "sid.Miner must be a non-negative safe integer", or undefined when every param matches. */
export function checkParams(
  params: readonly unknown[],
  decl: readonly { readonly name: string; readonly schema: ParamSchema }[],
): string | undefined {
  for (let i = 0; i < decl.length; i++) {
    const { name, schema } = decl[i]!;
    const r = schema.safeParse(params[i]);
    if (r.success) continue;
    const issue = r.error.issues[0];
    if (!issue) return `${name} is invalid`;
    return describeIssue(name, params[i], issue);
  }
  return undefined;
}

function describeIssue(name: string, value: unknown, issue: SchemaIssue): string {
  let at = name;
  let v: unknown = value;
  for (const k of issue.path) {
    at += typeof k === 'number' ? `[${k}]` : `.${String(k)}`;
    v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
  }
  if (v === undefined && issue.path.length > 0) return `${at} is missing`;
  if (issue.code === 'invalid_type') {
    const expected = typeof issue.expected === 'string' ? issue.expected : 'another type';
    return `${at} must be ${article(expected)}, not ${kindOf(v)}`;
  }
  if (issue.code === 'unrecognized_keys') return `${at} has unknown keys`;
  const msg = issue.message.startsWith('Invalid input') ? `is invalid (${kindOf(v)})` : issue.message;
  return `${at} ${msg}`;
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

/** The JSON kind of a value, never the value itself (errors must not echo what was sent). */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (typeof v === 'number') return Number.isFinite(v) && String(v).length <= 24 ? `the number ${v}` : 'a number';
  if (typeof v === 'boolean') return `${v}`;
  if (typeof v === 'object') return 'an object';
  return typeof v;
}
