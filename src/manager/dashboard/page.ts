/**
 * The dashboard page: one HTML document with inline CSS and JS (client.ts), written by hand (no CDN, no build step).
 * The page holds no data; its script and style are fixed at build time, so the Content-Security-Policy allows exactly
 * them by their sha256 (no 'unsafe-inline'), and nothing but the page's own origin for requests. The script reads
 * `?token=` from the page's URL, opens `/dashboard/events` (Server-Sent Events) and redraws on each message; with an
 * admin token the thread rows get pause/resume buttons (POST /dashboard/api/worker).
 */
import { createHash } from 'node:crypto';
import { DASHBOARD_JS } from './client.js';

export const DASHBOARD_CSS = `:root{--bg:#0f1419;--fg:#e6e6e6;--mut:#8b949e;--card:#161b22;--line:#30363d;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--acc:#58a6ff}
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
.banner{grid-column:1/-1;background:#f8514922;border:1px solid var(--bad);border-radius:8px;padding:.6rem .8rem;margin:1rem 1rem 0;color:var(--fg)}.banner b{color:var(--bad);font-weight:600}
#notice{color:var(--bad)}td.reason{white-space:normal;max-width:24rem}
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>venus-sector-manager</title>
<style>${DASHBOARD_CSS}</style></head><body>
<header><h1>venus-sector-manager</h1><span id="head" class="mut"></span><span id="live">connecting…</span></header>
<div id="alerts"></div>
<main>
<section><h2>Miners</h2><table id="miners"></table><h2>Manager duties</h2><table id="duties"></table></section>
<section><h2>Deadlines &amp; Window PoSt</h2><table id="deadlines"></table><table id="posts"></table></section>
<section class="wide"><h2>Sectors</h2><div id="counts" class="chips"></div><table id="sectors"></table></section>
<section class="wide"><h2>Worker threads</h2><div id="admin" class="mut"></div><div id="notice"></div><table id="threads"></table></section>
<section class="wide"><h2>Deals</h2><table id="deals"></table>
<h2>Unseal tasks</h2><div id="unseal-counts" class="chips"></div><table id="unseals"></table></section>
<section class="wide"><h2>Recent messages</h2><table id="messages"></table></section>
</main>
<script>${DASHBOARD_JS}</script></body></html>
`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/**
 * The page's Content-Security-Policy: its own script and style by hash, requests (fetch, EventSource) to its own
 * origin, nothing else: no plugins, frames, forms, base URL, or being framed (clickjacking).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(DASHBOARD_JS)}`,
  `style-src ${sha256(DASHBOARD_CSS)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
