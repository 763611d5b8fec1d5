/**
 * Sets of sector / partition numbers as sorted, duplicate-free number arrays: the in-memory and JSON form
 * of the bitfields in miner state (RLE+ is only the wire form, handled by fil/bitfield at the API edge).
 */
export type NumSet = number[];

export function setOf(items: Iterable<number>): NumSet {
  return [...new Set(items)].sort((a, b) => a - b);
}

export function has(s: NumSet, n: number): boolean {
  let lo = 0;
  let hi = s.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = s[mid]!;
    if (v === n) return true;
    if (v < n) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export function union(...sets: NumSet[]): NumSet {
  if (sets.length === 1) return sets[0]!.slice();
  return setOf(sets.flat());
}

export function intersect(a: NumSet, b: NumSet): NumSet {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! === b[j]!) {
      out.push(a[i]!);
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return out;
}

export function subtract(a: NumSet, b: NumSet): NumSet {
  if (b.length === 0) return a.slice();
  const out: number[] = [];
  let j = 0;
  for (const x of a) {
    while (j < b.length && b[j]! < x) j++;
    if (j < b.length && b[j]! === x) continue;
    out.push(x);
  }
  return out;
}

export function containsAll(a: NumSet, b: NumSet): boolean {
  return subtract(b, a).length === 0;
}

export function containsAny(a: NumSet, b: NumSet): boolean {
  return intersect(a, b).length > 0;
}

export function insert(s: NumSet, n: number): NumSet {
  return has(s, n) ? s : setOf([...s, n]);
}
