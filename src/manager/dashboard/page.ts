/**
 * The dashboard page: one HTML document with inline CSS and JS, written by hand (no CDN, no build step).
 * It reads `?token=` from its own URL, opens `/dashboard/events` (Server-Sent Events) and redraws on each message;
 * with an admin token the thread rows get pause/resume buttons (POST /dashboard/api/worker).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>venus-sector-manager</title>
<style>
:root{--bg:#0f1419;--fg:#e6e6e6;--mut:#8b949e;--card:#161b22;--line:#30363d;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--acc:#58a6ff}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid var(--line)}
header h1{font-size:1.1rem;margin:0}#live{font-size:.8rem;color:var(--mut)}#live.on{color:var(--ok)}
main{display:grid;gap:1rem;padding:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,28rem),1fr))}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem;overflow-x:auto}
section.wide{grid-column:1/-1}h2{font-size:.95rem;margin:.2rem 0 .5rem;color:var(--acc)}
table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--mut);font-weight:600}.mut{color:var(--mut)}.bad{color:var(--bad)}.ok{color:var(--ok)}.warn{color:var(--warn)}
.chips{display:flex;flex-wrap:wrap;gap:.4rem;margin-bottom:.5rem}.chip{background:#21262d;border-radius:1rem;padding:.1rem .6rem;font-size:.8rem}
.tl{display:flex;flex-wrap:wrap;gap:.2rem}.tl span{background:#1f6feb33;border:1px solid #1f6feb66;border-radius:4px;padding:0 .3rem;font-size:.75rem}.tl b{font-weight:400;color:var(--mut)}.tl span.cur{border-color:var(--acc)}.tl span.warn{border-color:var(--warn)}
button{background:#21262d;color:var(--fg);border:1px solid var(--line);border-radius:4px;padding:.15rem .5rem;cursor:pointer}
@media (max-width:600px){main{padding:.5rem;gap:.5rem}th,td{padding:.2rem .25rem}.hide-s{display:none}}
</style></head><body>
<header><h1>venus-sector-manager</h1><span id="head" class="mut"></span><span id="live">connecting…</span></header>
<main>
<section><h2>Miners</h2><table id="miners"></table></section>
<section><h2>Deadlines &amp; Window PoSt</h2><table id="deadlines"></table><table id="posts"></table></section>
<section class="wide"><h2>Sectors</h2><div id="counts" class="chips"></div><table id="sectors"></table></section>
<section class="wide"><h2>Worker threads</h2><div id="admin" class="mut"></div><table id="threads"></table></section>
<section class="wide"><h2>Recent messages</h2><table id="messages"></table></section>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.search).get('token') || '';
const q = token ? '?token=' + encodeURIComponent(token) : '';
let isAdmin = false;
try { const p = JSON.parse(atob(token.split('.')[1].replace(/-/g,'+').replace(/_/g,'/'))); isAdmin = (Array.isArray(p.Allow) && p.Allow.includes('admin')) || p.perm === 'admin'; } catch (e) {}
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v == null ? '' : v).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const ago = (ms) => { const s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 60 ? s + 's' : s < 3600 ? Math.floor(s/60) + 'm' : Math.floor(s/3600) + 'h'; };
const bytes = (v) => { if (v == null) return '<span class="mut">n/a</span>'; let n = Number(v), u = ['B','KiB','MiB','GiB','TiB','PiB']; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return n.toFixed(n < 10 && i ? 1 : 0) + ' ' + u[i]; };
// devnet pledges are tiny: pick the unit that shows them (FIL, milli, micro, nano, atto)
const FIL_UNITS = [[10n ** 18n, 'FIL'], [10n ** 15n, 'mFIL'], [10n ** 12n, 'μFIL'], [10n ** 9n, 'nFIL'], [1n, 'aFIL']];
const fil = (v) => {
  if (v == null) return '<span class="mut">n/a</span>';
  const a = BigInt(v), abs = a < 0n ? -a : a;
  if (a === 0n) return '0 FIL';
  const [d, u] = FIL_UNITS.find(([d]) => abs >= d) || FIL_UNITS[FIL_UNITS.length - 1];
  return (Number((a * 1000n) / d) / 1000).toFixed(d === 1n ? 0 : 3) + ' ' + u;
};
function table(id, head, rows, empty) {
  $(id).innerHTML = '<tr>' + head.map((h) => '<th' + (h[0] === '~' ? ' class="hide-s">' + h.slice(1) : '>' + h) + '</th>').join('') + '</tr>' +
    (rows.length ? rows.join('') : '<tr><td colspan="' + head.length + '" class="mut">' + empty + '</td></tr>');
}
// each phase with the time spent in it (until the next one; the last one's is still running unless it is final)
const dur = (ms) => { const s = Math.max(0, Math.round(ms / 1000)); return s < 60 ? s + 's' : s < 3600 ? Math.floor(s/60) + 'm' + (s % 60 ? (s % 60) + 's' : '') : Math.floor(s/3600) + 'h' + Math.floor((s % 3600)/60) + 'm'; };
function timeline(s) {
  return s.timeline.map((t, i) => {
    const next = s.timeline[i + 1], last = !next, done = last && (t.state === 'Finalized' || t.state === 'Aborted');
    const title = new Date(t.at).toISOString() + (t.event ? ' · ' + t.event : '') + (t.failure ? ' · ' + t.failure : '');
    return '<span class="' + (t.failure ? 'warn' : '') + (last && !done ? ' cur' : '') + '" title="' + esc(title) + '">' + esc(t.state) +
      (done ? '' : ' <b>' + dur((next ? next.at : Date.now()) - t.at) + '</b>') + '</span>';
  }).join('');
}
function stateClass(s) { return s === 'Aborted' ? 'bad' : s === 'Finalized' ? 'ok' : ''; }
function draw(d) {
  $('head').textContent = 'head ' + (d.head == null ? '?' : d.head);
  table('miners', ['Miner', 'QA power', '~Raw power', 'Available'], d.miners.map((m) =>
    '<tr data-miner="t0' + m.id + '"><td>t0' + m.id + '</td><td>' + bytes(m.power) + '</td><td class="hide-s">' + bytes(m.rawPower) + '</td><td>' + fil(m.available) +
    (m.error ? ' <span class="bad" title="' + esc(m.error) + '">!</span>' : '') + '</td></tr>'), 'no miners configured');
  table('deadlines', ['Miner', 'Deadline', 'Window', 'Partitions: sectors/active/faulty/recovering', 'PoSt'], d.deadlines.map((x) =>
    '<tr data-deadline="t0' + x.miner + '/' + x.index + '"' + (x.current ? ' class="cur"' : '') + '><td>t0' + x.miner + '</td><td>' + x.index + (x.current ? ' <span class="chip">now</span>' : '') + '</td><td>' + x.open + '–' + x.close + '</td><td>' +
    (x.partitions.map((p) => '#' + p.index + ': ' + p.sectors + '/' + p.active + '/<span class="' + (p.faulty ? 'bad' : '') + '">' + p.faulty + '</span>/' + p.recovering).join(', ') || '<span class="mut">none</span>') + '</td><td>' +
    (x.current ? (x.proven.length ? '<span class="ok">proven #' + x.proven.join(',#') + '</span>' : x.partitions.length ? '<span class="warn">due</span>' : '') : '') + '</td></tr>'), 'no deadline info');
  table('posts', ['PoSt', '~Miner', 'Deadline', 'Epoch', 'Proven', 'Faulty', 'When'], d.posts.map((p) =>
    '<tr data-post="' + esc(p.miner) + '/' + p.deadline + '"><td class="' + (p.ok ? 'ok">landed' : 'bad">failed') + '</td><td class="hide-s">' + esc(p.miner) + '</td><td>' + p.deadline + '</td><td>' + esc(p.epoch) + '</td><td>' + esc(p.proven) + '</td><td>' + esc(p.faulty) + '</td><td>' + ago(p.at) + '</td></tr>'), 'no PoSt submissions yet');
  $('counts').innerHTML = Object.entries(d.counts).map(([k, v]) => '<span class="chip">' + esc(k) + ': ' + v + '</span>').join('') || '<span class="mut">no sectors</span>';
  table('sectors', ['Sector', 'State', '~Worker', '~Ticket', '~Seed', 'Timeline'], d.sectors.map((s) =>
    '<tr data-sector="' + esc(s.id) + '"><td>' + esc(s.id) + '</td><td class="state ' + stateClass(s.state) + '">' + esc(s.state) +
    (s.failure ? ' <span class="warn" title="' + esc(s.failure) + '">⚠</span>' : '') + (s.abort ? ' <span class="bad" title="' + esc(s.abort) + '">✗</span>' : '') +
    '</td><td class="hide-s">' + esc(s.worker) + '</td><td class="hide-s">' + esc(s.ticketEpoch) + '</td><td class="hide-s">' + esc(s.seedEpoch) + '</td><td><div class="tl">' +
    timeline(s) + '</div></td></tr>'), 'no sectors');
  const rows = [];
  for (const w of d.workers) {
    if (!w.threads) { rows.push('<tr><td>' + esc(w.name) + '</td><td colspan="6" class="mut">' + w.summary.Threads + ' threads (' + w.summary.Running + ' running, ' + w.summary.Paused + ' paused, ' + w.summary.Errors + ' errors); control API: ' + esc(w.error) + ' · ping ' + ago(w.lastPing * 1000) + ' ago</td></tr>'); continue; }
    for (const t of w.threads) {
      const st = t.thread_state.state;
      const btn = isAdmin ? '<button data-w="' + esc(w.name) + '" data-i="' + t.index + '" data-a="' + (st === 'Paused' ? 'resume">resume' : 'pause">pause') + '</button>' : '';
      rows.push('<tr data-thread="' + esc(w.name) + '/' + t.index + '"><td>' + esc(w.name) + ' #' + t.index + '</td><td class="' + (st === 'Paused' ? 'warn' : '') + '">' + esc(st) + '</td><td>' + esc(t.job_id) + '</td><td>' + esc(t.job_state) + (t.job_stage ? ' / ' + esc(t.job_stage) : '') +
        '</td><td>' + t.thread_state.elapsed + 's</td><td class="bad">' + esc(t.last_error) + '</td><td>' + btn + '</td></tr>');
    }
  }
  table('threads', ['Thread', 'State', 'Sector', 'Job state/stage', 'Elapsed', 'Last error', ''], rows, 'no workers have pinged');
  $('admin').textContent = isAdmin ? '' : 'Pause/resume needs an admin token.';
  table('messages', ['Message', 'Miner', 'Kind', '~Sectors', 'Pushed', 'When'], d.messages.map((m) =>
    '<tr><td title="' + esc(m.id) + '">' + esc(m.id.slice(0, 18)) + '…</td><td>t0' + m.miner + '</td><td>' + esc(m.kind) + '</td><td class="hide-s">' + esc(m.sectors.join(',')) + '</td><td>' + (m.pushed ? 'yes' : 'no') + '</td><td>' + ago(m.at) + '</td></tr>'), 'no messages');
}
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-a]'); if (!b) return;
  b.disabled = true;
  const r = await fetch('/dashboard/api/worker' + q, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ worker: b.dataset.w, index: Number(b.dataset.i), action: b.dataset.a }) });
  if (!r.ok) alert('failed: ' + (await r.text()));
});
function connect() {
  const es = new EventSource('/dashboard/events' + q);
  es.onopen = () => { $('live').textContent = 'live'; $('live').className = 'on'; };
  es.onmessage = (ev) => { window.__updates = (window.__updates || 0) + 1; draw(JSON.parse(ev.data)); };
  es.onerror = () => { $('live').textContent = 'disconnected, retrying…'; $('live').className = ''; };
}
connect();
</script></body></html>
`;
