/**
 * The dashboard page's script, served as `/dashboard/app.js` (the Content-Security-Policy allows scripts from the
 * page's own origin only, no inline script). Written by hand, no build step.
 *
 * Everything it shows comes from workers or the chain, so it never parses data as HTML: every node is made by
 * `el()` (createElement, text nodes, setAttribute with attribute names fixed here) — no innerHTML anywhere — and
 * each section is drawn on its own, so a malformed field spoils one section at most.
 */
export const DASHBOARD_JS = `"use strict";
(function () {
const token = new URLSearchParams(location.search).get('token') || '';
const q = token ? '?token=' + encodeURIComponent(token) : '';
let isAdmin = false;
try { const p = JSON.parse(atob(token.split('.')[1].replace(/-/g,'+').replace(/_/g,'/'))); isAdmin = (Array.isArray(p.Allow) && p.Allow.includes('admin')) || p.perm === 'admin'; } catch (e) {}
const $ = (id) => document.getElementById(id);
const made = new WeakSet();
// the one way content is made: strings and numbers become text nodes, attributes are set one by one
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  made.add(e);
  for (const k of Object.keys(attrs || {})) { const v = attrs[k]; if (v != null && v !== false) e.setAttribute(k, String(v)); }
  for (const c of kids.flat(4)) {
    if (c == null || c === false) continue;
    e.appendChild(made.has(c) ? c : document.createTextNode(String(typeof c === 'object' ? '?' : c)));
  }
  return e;
}
const arr = (v) => (Array.isArray(v) ? v : []);
const txt = (v, n) => { const s = v == null ? '' : typeof v === 'object' ? '?' : String(v); return s.length > (n || 200) ? s.slice(0, n || 200) + '…' : s; };
const num = (v) => (typeof v === 'number' && isFinite(v) ? v : null);
const mut = (s) => el('span', { class: 'mut' }, s);
const ago = (ms) => { if (num(ms) == null) return '?'; const s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 60 ? s + 's' : s < 3600 ? Math.floor(s/60) + 'm' : Math.floor(s/3600) + 'h'; };
const bytes = (v) => { const n0 = Number(v); if (v == null || !isFinite(n0)) return mut('n/a'); let n = n0, u = ['B','KiB','MiB','GiB','TiB','PiB','EiB']; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return n.toFixed(n < 10 && i ? 1 : 0) + ' ' + u[i]; };
// devnet pledges are tiny: pick the unit that shows them (FIL, milli, micro, nano, atto)
const FIL_UNITS = [[10n ** 18n, 'FIL'], [10n ** 15n, 'mFIL'], [10n ** 12n, 'μFIL'], [10n ** 9n, 'nFIL'], [1n, 'aFIL']];
const fil = (v) => {
  let a;
  try { a = BigInt(v); } catch (e) { return mut('n/a'); }
  if (v == null) return mut('n/a');
  const abs = a < 0n ? -a : a;
  if (a === 0n) return '0 FIL';
  const [d, u] = FIL_UNITS.find(([d]) => abs >= d) || FIL_UNITS[FIL_UNITS.length - 1];
  return (Number((a * 1000n) / d) / 1000).toFixed(d === 1n ? 0 : 3) + ' ' + u;
};
function table(id, head, rows, empty) {
  const hr = el('tr', null, head.map((h) => h[0] === '~' ? el('th', { class: 'hide-s' }, h.slice(1)) : el('th', null, h)));
  $(id).replaceChildren(hr, ...(rows.length ? rows : [el('tr', null, el('td', { colspan: head.length, class: 'mut' }, empty))]));
}
// each phase with the time spent in it (until the next one; the last one's is still running unless it is final)
const dur = (ms) => { const s = Math.max(0, Math.round(ms / 1000)); return s < 60 ? s + 's' : s < 3600 ? Math.floor(s/60) + 'm' + (s % 60 ? (s % 60) + 's' : '') : Math.floor(s/3600) + 'h' + Math.floor((s % 3600)/60) + 'm'; };
function iso(ms) { try { return new Date(ms).toISOString(); } catch (e) { return '?'; } }
function timeline(s) {
  const tl = arr(s.timeline);
  return tl.map((t, i) => {
    const next = tl[i + 1], last = !next, done = last && (t.state === 'Finalized' || t.state === 'Aborted');
    const title = iso(t.at) + (t.event ? ' · ' + txt(t.event) : '') + (t.failure ? ' · ' + txt(t.failure) : '');
    return el('span', { class: (t.failure ? 'warn' : '') + (last && !done ? ' cur' : ''), title: title }, txt(t.state, 64),
      done ? null : [' ', el('b', null, dur((next ? next.at : Date.now()) - t.at))]);
  });
}
function stateClass(s) { return s === 'Aborted' ? 'bad' : s === 'Finalized' ? 'ok' : ''; }
const sections = {
  head(d) { $('head').textContent = 'head ' + (num(d.head) == null ? '?' : d.head); },
  alerts(d) {
    $('alerts').replaceChildren(...arr(d.alerts).map((a) => el('div', { class: 'banner', role: 'alert', 'data-alert': 't0' + txt(a.miner) + '/' + txt(a.deadline) },
      'Window PoSt failed for t0' + txt(a.miner) + ' deadline ' + txt(a.deadline) + ' at epoch ' + txt(a.epoch) +
      ' and the deadline is open until epoch ' + txt(a.close) + ': ', el('b', null, txt(a.reason || 'no reason recorded')))));
  },
  miners(d) {
    table('miners', ['Miner', 'QA power', '~Raw power', 'Available'], arr(d.miners).map((m) =>
      el('tr', { 'data-miner': 't0' + txt(m.id) }, el('td', null, 't0' + txt(m.id)), el('td', null, bytes(m.power)),
        el('td', { class: 'hide-s' }, bytes(m.rawPower)),
        el('td', null, fil(m.available), m.error ? [' ', el('span', { class: 'bad', title: txt(m.error) }, '!')] : null))), 'no miners configured');
  },
  deadlines(d) {
    table('deadlines', ['Miner', 'Deadline', 'Window', 'Partitions: sectors/active/faulty/recovering', 'PoSt'], arr(d.deadlines).map((x) => {
      const parts = arr(x.partitions);
      const proven = arr(x.proven);
      return el('tr', { 'data-deadline': 't0' + txt(x.miner) + '/' + txt(x.index), class: x.current ? 'cur' : null },
        el('td', null, 't0' + txt(x.miner)), el('td', null, txt(x.index), x.current ? [' ', el('span', { class: 'chip' }, 'now')] : null),
        el('td', null, txt(x.open) + '–' + txt(x.close)),
        el('td', null, parts.length ? parts.map((p, i) => [i ? ', ' : '', '#' + txt(p.index) + ': ' + txt(p.sectors) + '/' + txt(p.active) + '/',
          el('span', { class: p.faulty ? 'bad' : '' }, txt(p.faulty)), '/' + txt(p.recovering)]) : mut('none')),
        el('td', null, x.current ? (proven.length ? el('span', { class: 'ok' }, 'proven #' + proven.map((n) => txt(n)).join(',#')) : parts.length ? el('span', { class: 'warn' }, 'due') : null) : null));
    }), 'no deadline info');
  },
  posts(d) {
    table('posts', ['PoSt', '~Miner', 'Deadline', 'Epoch', 'Proven', 'Faulty', 'When', 'Reason'], arr(d.posts).map((p) =>
      el('tr', { 'data-post': txt(p.miner) + '/' + txt(p.deadline), class: p.ok ? null : 'failed' },
        el('td', { class: p.ok ? 'ok' : 'bad' }, p.ok ? 'landed' : 'failed'), el('td', { class: 'hide-s' }, txt(p.miner)),
        el('td', null, txt(p.deadline)), el('td', null, txt(p.epoch)), el('td', null, txt(p.proven)), el('td', null, txt(p.faulty)),
        el('td', null, ago(p.at)), el('td', { class: 'bad reason' }, p.ok ? '' : txt(p.reason || '')))), 'no PoSt submissions yet');
  },
  counts(d) {
    const c = Object.entries(d.counts && typeof d.counts === 'object' ? d.counts : {});
    $('counts').replaceChildren(...(c.length ? c.map(([k, v]) => el('span', { class: 'chip' }, txt(k, 64) + ': ' + txt(v))) : [mut('no sectors')]));
  },
  sectors(d) {
    table('sectors', ['Sector', 'State', '~Worker', '~Ticket', '~Seed', 'Timeline'], arr(d.sectors).map((s) =>
      el('tr', { 'data-sector': txt(s.id) }, el('td', null, txt(s.id)),
        el('td', { class: 'state ' + stateClass(s.state) }, txt(s.state, 64),
          s.failure ? [' ', el('span', { class: 'warn', title: txt(s.failure) }, '⚠')] : null,
          s.abort ? [' ', el('span', { class: 'bad', title: txt(s.abort) }, '✗')] : null),
        el('td', { class: 'hide-s' }, txt(s.worker)), el('td', { class: 'hide-s' }, txt(s.ticketEpoch)), el('td', { class: 'hide-s' }, txt(s.seedEpoch)),
        el('td', null, el('div', { class: 'tl' }, timeline(s))))), 'no sectors');
  },
  threads(d) {
    const rows = [];
    for (const w of arr(d.workers)) {
      const name = txt(w.name);
      if (!Array.isArray(w.threads)) {
        const sm = w.summary && typeof w.summary === 'object' ? w.summary : null;
        rows.push(el('tr', { 'data-worker': name }, el('td', null, name), el('td', { colspan: 6, class: 'mut' },
          (sm ? txt(sm.Threads) + ' threads (' + txt(sm.Running) + ' running, ' + txt(sm.Paused) + ' paused, ' + txt(sm.Errors) + ' errors); ' : '') +
          'control API: ' + txt(w.error || 'not listed') + ' · ping ' + ago(num(w.lastPing) == null ? null : w.lastPing * 1000) + ' ago')));
        continue;
      }
      for (const t of w.threads) {
        const ts = t.thread_state && typeof t.thread_state === 'object' ? t.thread_state : {};
        const st = txt(ts.state, 32);
        const btn = isAdmin ? el('button', { 'data-w': name, 'data-i': txt(t.index), 'data-a': st === 'Paused' ? 'resume' : 'pause' }, st === 'Paused' ? 'resume' : 'pause') : null;
        rows.push(el('tr', { 'data-thread': name + '/' + txt(t.index) }, el('td', null, name + ' #' + txt(t.index)),
          el('td', { class: st === 'Paused' ? 'warn' : '' }, st), el('td', null, txt(t.job_id)),
          el('td', null, txt(t.job_state), t.job_stage ? ' / ' + txt(t.job_stage) : null), el('td', null, txt(ts.elapsed) + 's'),
          el('td', { class: 'bad' }, txt(t.last_error)), el('td', null, btn)));
      }
    }
    if (num(d.workersTotal) != null && d.workersTotal > arr(d.workers).length)
      rows.push(el('tr', null, el('td', { colspan: 7, class: 'mut' }, (d.workersTotal - arr(d.workers).length) + ' more workers not shown')));
    table('threads', ['Thread', 'State', 'Sector', 'Job state/stage', 'Elapsed', 'Last error', ''], rows, 'no workers have pinged');
    $('admin').textContent = isAdmin ? '' : 'Pause/resume needs an admin token.';
  },
  deals(d) {
    table('deals', ['Piece', 'Client', 'Size', 'Verified', 'Sector', 'State', '~Deal'], arr(d.deals).map((x) => {
      const sector = 's-t0' + txt(x.miner) + '-' + txt(x.number);
      return el('tr', { 'data-deal': sector + '/' + txt(x.piece, 120) }, el('td', { title: txt(x.piece, 120) }, txt(x.piece, 20) + '…'),
        el('td', null, txt(x.client, 64)), el('td', null, bytes(x.size)),
        el('td', { class: x.verified ? 'ok' : '', title: x.verified == null ? 'a builtin-market deal: its verified flag is on chain, not recorded here' : null }, x.verified == null ? mut('?') : x.verified ? 'yes' : 'no'),
        el('td', null, sector), el('td', { class: 'state ' + stateClass(x.state) }, txt(x.state, 64)),
        el('td', { class: 'hide-s' }, x.kind === 'market' ? 'market #' + txt(x.dealId) : 'DDO alloc ' + txt(x.allocationId)));
    }), 'no deals assigned to sectors yet');
  },
  unseals(d) {
    const c = Object.entries(d.unsealCounts && typeof d.unsealCounts === 'object' ? d.unsealCounts : {});
    $('unseal-counts').replaceChildren(...c.map(([k, v]) => el('span', { class: 'chip' }, txt(k, 64) + ': ' + txt(v))));
    const cls = (s) => s === 'failed' ? 'bad' : s === 'finished' ? 'ok' : 'warn';
    table('unseals', ['Task', 'Piece', 'Sector', 'Size', 'State', '~From', '~Worker', 'When', 'Error'], arr(d.unseals).map((t) =>
      el('tr', { 'data-unseal': txt(t.id) }, el('td', null, '#' + txt(t.id)), el('td', { title: txt(t.piece, 120) }, txt(t.piece, 20) + '…'),
        el('td', null, 's-t0' + txt(t.miner) + '-' + txt(t.number)), el('td', null, bytes(t.size)),
        el('td', { class: cls(t.state) }, txt(t.state, 64), num(t.attempts) > 1 ? ' (try ' + txt(t.attempts) + ')' : null),
        el('td', { class: 'hide-s' }, txt(t.source, 16)), el('td', { class: 'hide-s' }, txt(t.worker, 64)), el('td', null, ago(t.updatedAt)),
        el('td', { class: 'bad reason' }, txt(t.error)))), 'no unseal tasks');
  },
  duties(d) {
    // which manager runs Window PoSt, the commitment messages and the chain jobs (several managers, one database)
    table('duties', ['Duty', 'Holder', 'Since', 'Lease', 'Here'], arr(d.duties).map((u) => {
      const live = num(u.expiresAt) != null && u.expiresAt > Date.now() && u.holder;
      return el('tr', { 'data-duty': txt(u.duty, 16) }, el('td', null, txt(u.duty, 16)),
        el('td', { title: 'fencing token ' + txt(u.token) }, live ? txt(u.holder, 64) : el('span', { class: 'bad' }, 'nobody')),
        el('td', null, live && num(u.since) ? ago(u.since) : '-'),
        el('td', { class: 'hide-s' }, live ? 'renewed, ' + dur(u.expiresAt - Date.now()) + ' left' : u.holder ? 'expired (' + txt(u.holder, 64) + ')' : '-'),
        el('td', { class: u.mine ? 'ok' : 'mut' }, u.mine ? 'mine' : 'standby'));
    }), 'no duties');
  },
  messages(d) {
    table('messages', ['Message', 'Miner', 'Kind', '~Sectors', 'Pushed', 'When'], arr(d.messages).map((m) =>
      el('tr', null, el('td', { title: txt(m.id) }, txt(m.id, 18)), el('td', null, 't0' + txt(m.miner)), el('td', null, txt(m.kind)),
        el('td', { class: 'hide-s' }, arr(m.sectors).slice(0, 20).map((n) => txt(n)).join(',')), el('td', null, m.pushed ? 'yes' : 'no'), el('td', null, ago(m.at)))), 'no messages');
  },
};
function draw(d) {
  if (!d || typeof d !== 'object') return;
  for (const k of Object.keys(sections)) {
    try { sections[k](d); } catch (e) { console.warn('dashboard: could not draw ' + k + ': ' + e.message); }
  }
}
document.addEventListener('click', async (e) => {
  const b = e.target && e.target.closest ? e.target.closest('button[data-a]') : null; if (!b) return;
  b.disabled = true;
  $('notice').textContent = '';
  try {
    const r = await fetch('/dashboard/api/worker' + q, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ worker: b.getAttribute('data-w'), index: Number(b.getAttribute('data-i')), action: b.getAttribute('data-a') }) });
    const body = await r.json().catch(() => ({}));
    if (!r.ok || body.ok === false) $('notice').textContent = b.getAttribute('data-a') + ' failed: ' + txt(body.error || (r.ok ? 'the worker said no' : 'HTTP ' + r.status));
  } catch (err) {
    $('notice').textContent = 'request failed: ' + txt(err.message);
  }
});
function connect() {
  const es = new EventSource('/dashboard/events' + q);
  es.onopen = () => { $('live').textContent = 'live'; $('live').className = 'on'; };
  es.onmessage = (ev) => { window.__updates = (window.__updates || 0) + 1; let d; try { d = JSON.parse(ev.data); } catch (e) { return; } draw(d); };
  es.onerror = () => { $('live').textContent = 'disconnected, retrying…'; $('live').className = ''; };
}
connect();
})();
`;
