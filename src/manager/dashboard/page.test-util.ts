/**
 * The dashboard page's script run in a vm against a small stand-in DOM, for the tests of what it draws: elements
 * record their children and attributes, and the HTML-parsing setters throw, so data can only ever become text.
 */
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { DASHBOARD_JS } from './client.js';
import { DASHBOARD_HTML } from './page.js';

export class FakeText {
  constructor(readonly data: string) {}
  get textContent(): string {
    return this.data;
  }
}

export class FakeElement {
  readonly attrs = new Map<string, string>();
  children: (FakeElement | FakeText)[] = [];
  disabled = false;
  constructor(readonly tagName: string) {}
  setAttribute(k: string, v: string): void {
    this.attrs.set(k, String(v));
  }
  getAttribute(k: string): string | null {
    return this.attrs.get(k) ?? null;
  }
  set className(v: string) {
    this.attrs.set('class', v);
  }
  get className(): string {
    return this.attrs.get('class') ?? '';
  }
  appendChild(c: unknown): unknown {
    if (!(c instanceof FakeElement || c instanceof FakeText)) throw new TypeError('appendChild: not a node');
    this.children.push(c);
    return c;
  }
  replaceChildren(...cs: unknown[]): void {
    this.children = [];
    for (const c of cs) this.appendChild(c);
  }
  set textContent(v: string) {
    this.children = [new FakeText(String(v))];
  }
  get textContent(): string {
    return this.children.map((c) => c.textContent).join('');
  }
  set innerHTML(_v: string) {
    throw new Error('innerHTML used');
  }
  set outerHTML(_v: string) {
    throw new Error('outerHTML used');
  }
  insertAdjacentHTML(): void {
    throw new Error('insertAdjacentHTML used');
  }
  *walk(): Generator<FakeElement> {
    yield this;
    for (const c of this.children) if (c instanceof FakeElement) yield* c.walk();
  }
}

/** Runs the page's script with `?token=<token>`; returns the elements by id and a function that delivers a state. */
export function runPage(token: string) {
  const ids = [...DASHBOARD_HTML.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!);
  const byId = new Map(ids.map((id) => [id, new FakeElement('div')]));
  const warnings: string[] = [];
  let source: { onmessage?: (e: { data: string }) => void; onopen?: () => void } | undefined;
  const ctx: Record<string, unknown> = {
    location: { search: `?token=${encodeURIComponent(token)}` },
    URLSearchParams,
    atob,
    console: { warn: (m: string) => warnings.push(m), log() {}, error() {} },
    document: {
      createElement: (t: string) => new FakeElement(t),
      createTextNode: (s: string) => new FakeText(s),
      getElementById: (id: string) => byId.get(id) ?? null,
      addEventListener() {},
    },
    EventSource: class {
      constructor(readonly url: string) {
        source = this as never;
      }
    },
    fetch: () => Promise.reject(new Error('no fetch in this test')),
  };
  ctx.window = ctx;
  vm.runInNewContext(DASHBOARD_JS, ctx);
  assert.ok(source, 'the script opened the event stream');
  const send = (state: unknown) => source!.onmessage!({ data: JSON.stringify(state) });
  const all = () => [...byId.values()].flatMap((e) => [...e.walk()]);
  return { byId, send, all, warnings, ctx };
}

/** The data rows of a table (its header row left out). */
export function rowsOf(table: FakeElement): FakeElement[] {
  return table.children.filter((c): c is FakeElement => c instanceof FakeElement && c.tagName === 'tr').slice(1);
}
