/**
 * `GET /dashboard`: one self-contained page (inline CSS and script, nothing fetched but its own event stream). The
 * shell holds no data, so it is served without a key: a browser's navigation cannot send a header. The script reads
 * `GET /dashboard/events` with fetch() and the key in `x-api-key` (EventSource cannot send headers); the key comes
 * from the URL fragment `#key=...`, which never reaches the server, or from a prompt shown after a 401, and is kept
 * in the tab's sessionStorage only. Every value is written with textContent, never parsed as HTML.
 *
 * Stable hooks for tests and scrapers: `#sessions`, `#status`, `tr[data-worker]` and `tr[data-endpoint][data-worker]`
 * rows with `td[data-field]` cells, `[data-refusal="kind:reason"]`, `[data-value]` cells elsewhere.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root{color-scheme:dark;--bg:#0f1419;--panel:#171d24;--line:#26303a;--text:#d7dde3;--dim:#7b8794;--ok:#3fb950;
--warn:#d29922;--bad:#f85149;--accent:#58a6ff}
*{box-sizing:border-box}body{margin:0;font:13px/1.4 system-ui,sans-serif;background:var(--bg);color:var(--text)}
header{display:flex;gap:24px;align-items:baseline;padding:12px 20px;border-bottom:1px solid var(--line)}
h1{font-size:16px;margin:0}
h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--dim);margin:0 0 8px}
.big{font-size:22px;font-weight:600}.dim{color:var(--dim)}main{display:grid;gap:14px;padding:14px 20px;
grid-template-columns:repeat(auto-fit,minmax(330px,1fr))}section{background:var(--panel);border:1px solid var(--line);
border-radius:6px;padding:10px 12px}section.wide{grid-column:1/-1}
.cols{display:grid;gap:18px;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));align-items:start}
td[data-value]{white-space:normal}table{width:100%;border-collapse:collapse}
th,td{text-align:right;padding:3px 6px;border-bottom:1px solid var(--line);white-space:nowrap;
font-variant-numeric:tabular-nums}th:first-child,td:first-child{text-align:left}th{color:var(--dim);font-weight:500}
.ok{color:var(--ok)}.warn{color:var(--warn)}.bad{color:var(--bad)}.zero{color:var(--dim)}
.bar{display:inline-block;width:60px;height:6px;background:var(--line);border-radius:3px;vertical-align:middle;
margin-left:6px;overflow:hidden}.bar i{display:block;height:100%;background:var(--accent)}
.bar i.full{background:var(--bad)}
#keyform{padding:40px 20px}#keyform input{width:320px;padding:6px;background:var(--panel);color:var(--text);
border:1px solid var(--line);border-radius:4px}#keyform button{padding:6px 12px}[hidden]{display:none!important}`;

const SCRIPT = `
'use strict';
const $ = (id) => document.getElementById(id);
const eventsPath = location.pathname.replace(/\\/?$/, '/events');
let key = sessionStorage.getItem('actorgate.key') || '';
const fragmentKey = new URLSearchParams(location.hash.slice(1)).get('key');
if (fragmentKey) {
  key = fragmentKey;
  sessionStorage.setItem('actorgate.key', key);
  history.replaceState(null, '', location.pathname + location.search);
}
let lastAt = 0;

function setStatus(text, cls) {
  const s = $('status');
  s.textContent = text;
  s.className = cls;
  s.dataset.state = text;
}
const num = (v, digits = 0) => v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rate = (r) => num(r.perSec, r.perSec < 10 ? 1 : 0);
function cell(td, text, cls) {
  td.textContent = text;
  td.className = cls || '';
}
/** The row of 'body' keyed by 'attrs' (data-* values), made with one td per field on first sight. */
function row(body, attrs, fields) {
  const sel = Object.entries(attrs).map(([k, v]) => '[data-' + k + '="' + CSS.escape(String(v)) + '"]').join('');
  let tr = body.querySelector('tr' + sel);
  if (!tr) {
    tr = document.createElement('tr');
    for (const [k, v] of Object.entries(attrs)) tr.dataset[k] = String(v);
    for (const f of fields) {
      const td = document.createElement('td');
      td.dataset.field = f;
      tr.append(td);
    }
    body.append(tr);
  }
  tr.dataset.seen = '1';
  const tds = {};
  for (const td of tr.children) tds[td.dataset.field] = td;
  return tds;
}
function prune(body) {
  for (const tr of [...body.children]) {
    if (tr.dataset.seen) delete tr.dataset.seen;
    else tr.remove();
  }
}
const stateClass = { running: 'ok', ready: 'ok', closed: 'ok', ok: 'ok', 'half-open': 'warn', draining: 'warn',
  connecting: 'warn', starting: 'warn', restarting: 'bad', backoff: 'bad', open: 'bad', degraded: 'warn',
  disconnected: 'bad', stopped: 'bad', stopping: 'warn', closing: 'warn', idle: 'dim' };

function renderCounts(body, kind, byReason) {
  for (const [reason, r] of Object.entries(byReason)) {
    const tds = row(body, { refusal: kind + ':' + reason }, ['reason', 'total', 'rate']);
    const cls = r.total === 0 ? 'zero' : r.perSec > 0 ? 'bad' : '';
    cell(tds.reason, reason, cls);
    cell(tds.total, num(r.total), cls);
    cell(tds.rate, rate(r) + '/s', cls);
  }
}

function render(s) {
  lastAt = Date.now();
  setStatus('live', 'ok');
  $('name').textContent = s.name + ' · node ' + s.nodeId;
  $('sessions').textContent = String(s.sessions);
  $('ready').textContent = s.ready ? 'ready' : 'not ready';
  $('ready').className = s.ready ? 'ok' : 'bad';
  $('updated').textContent = new Date(s.at).toLocaleTimeString();

  const wb = $('workers');
  for (const w of s.workers) {
    const tds = row(wb, { worker: w.index }, ['index', 'state', 'sessions', 'restarts', 'loop-p99', 'loop-mean']);
    cell(tds.index, String(w.index));
    cell(tds.state, w.state, stateClass[w.state]);
    cell(tds.sessions, num(w.sessions));
    cell(tds.restarts, num(w.restarts), w.restarts > 0 ? 'warn' : '');
    const d = w.loopDelayMs;
    cell(tds['loop-p99'], d ? num(d.p99, 1) + ' ms' : '–', d && d.p99 > 50 ? 'bad' : d && d.p99 > 20 ? 'warn' : '');
    cell(tds['loop-mean'], d ? num(d.mean, 2) + ' ms' : '–');
  }
  prune(wb);

  const eb = $('endpoints');
  for (const e of s.endpoints) {
    const tds = row(eb, { endpoint: e.endpoint, worker: e.worker }, ['endpoint', 'worker', 'stream', 'circuit',
      'mailbox-depth', 'mailbox-peak', 'in-flight-bytes', 'writes-per-sec', 'packets-per-sec', 'rejected-per-sec',
      'unavailable-per-sec']);
    cell(tds.endpoint, e.endpoint);
    cell(tds.worker, String(e.worker));
    cell(tds.stream, e.stream, stateClass[e.stream]);
    cell(tds.circuit, e.circuit, stateClass[e.circuit]);
    const depth = tds['mailbox-depth'];
    depth.textContent = String(e.mailboxDepth);
    depth.dataset.value = String(e.mailboxDepth);
    const fill = s.mailboxCapacity > 0 ? Math.min(1, e.mailboxDepth / s.mailboxCapacity) : 0;
    const bar = document.createElement('span');
    bar.className = 'bar';
    const i = document.createElement('i');
    i.style.width = (fill * 100).toFixed(0) + '%';
    if (fill >= 1) i.className = 'full';
    bar.append(i);
    depth.append(bar);
    cell(tds['mailbox-peak'], num(e.mailboxPeak), e.mailboxPeak >= s.mailboxCapacity ? 'warn' : '');
    cell(tds['in-flight-bytes'], num(e.inFlightBytes));
    cell(tds['writes-per-sec'], rate(e.writes));
    cell(tds['packets-per-sec'], rate(e.packetsSent));
    cell(tds['rejected-per-sec'], rate(e.mailboxRejected), e.mailboxRejected.perSec > 0 ? 'bad' : 'zero');
    cell(tds['unavailable-per-sec'], rate(e.unavailable), e.unavailable.perSec > 0 ? 'bad' : 'zero');
  }
  prune(eb);

  renderCounts($('refused-messages'), 'messages', s.refusals.messages);
  renderCounts($('refused-upgrades'), 'upgrades', s.refusals.upgrades);
  renderCounts($('refused-auth'), 'auth', s.refusals.auth);
  renderCounts($('drops'), 'drops', { client_send: s.drops.clientSend, log: s.drops.log,
    access_log: s.drops.accessLog });
  const pb = $('push');
  for (const [what, r] of Object.entries(s.push)) {
    const tds = row(pb, { push: what }, ['what', 'total', 'rate']);
    cell(tds.what, what);
    cell(tds.total, num(r.total), r.total === 0 ? 'zero' : '');
    cell(tds.rate, rate(r) + '/s', r.total === 0 ? 'zero' : '');
  }

  const facts = {
    routes: s.routes.source + ' v' + s.routes.version,
    redis: s.redis ? s.redis.mode + (s.redis.health ? ' · ' + s.redis.health : '') : 'not configured',
    registry: s.registry ? s.registry.state + (s.registry.healthy ? '' : ' · not refreshing') : 'not configured',
    drain: s.drain ? drainText(s.drain, s.at) : s.ready ? 'not draining' : s.workers.map((w) => w.state).join(', '),
  };
  for (const [k, v] of Object.entries(facts)) {
    const el = document.querySelector('[data-value="' + k + '"]');
    el.textContent = v;
    el.className = /degraded|disconnected|not refreshing|drain|closing|restarting/.test(v) && v !== 'not draining'
      ? 'warn' : '';
  }
  const drainState = document.querySelector('[data-value="drain"]');
  drainState.dataset.state = s.drain ? s.drain.state : 'none';
}

function drainText(d, now) {
  const parts = [d.state, d.sessionsRemaining + ' of ' + d.sessionsAtStart + ' sessions left'];
  if (d.closedByGateway > 0) parts.push(d.closedByGateway + ' closed by the gateway');
  if (d.deadlineAt !== null && d.state !== 'closed') {
    parts.push('deadline in ' + Math.max(0, Math.ceil((d.deadlineAt - now) / 1000)) + ' s');
  }
  return parts.join(' · ');
}

function dispatch(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (event === 'snapshot' && data.length > 0) render(JSON.parse(data.join('\\n')));
}

async function stream() {
  const headers = key ? { 'x-api-key': key } : {};
  let res;
  try {
    res = await fetch(eventsPath, { headers, cache: 'no-store' });
  } catch {
    return retry('unreachable');
  }
  if (res.status === 401) {
    setStatus(key ? 'key refused' : 'key needed', 'bad');
    $('keyform').hidden = false;
    $('board').hidden = true;
    $('key').focus();
    return;
  }
  if (!res.ok) return retry('HTTP ' + res.status);
  $('keyform').hidden = true;
  $('board').hidden = false;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\\n\\n')) >= 0) {
        dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch {}
  retry('reconnecting');
}
function retry(why) {
  setStatus(why, 'warn');
  setTimeout(stream, 1000);
}
setInterval(() => {
  if (lastAt > 0 && Date.now() - lastAt > 3000 && $('status').dataset.state === 'live') setStatus('stale', 'warn');
}, 1000);
$('keyform').addEventListener('submit', (ev) => {
  ev.preventDefault();
  key = $('key').value.trim();
  sessionStorage.setItem('actorgate.key', key);
  stream();
});
stream();
`;

const BODY = `
<header><h1>actorgate <span id="name" class="dim"></span></h1>
<span><span id="sessions" class="big" data-value="sessions">–</span> <span class="dim">sessions</span></span>
<span id="ready" class="dim">–</span><span>stream: <span id="status" data-state="connecting">connecting</span></span>
<span class="dim">updated <span id="updated">–</span></span></header>
<form id="keyform" hidden><p>This dashboard needs an admin key (<code>admin.apiKeys</code>).</p>
<input id="key" type="password" autocomplete="off" placeholder="admin API key">
<button type="submit">Open</button></form>
<main id="board">
<section><h2>Workers</h2><table><thead><tr><th>#</th><th>state</th><th>sessions</th><th>restarts</th>
<th>loop p99</th><th>loop mean</th></tr></thead><tbody id="workers"></tbody></table></section>
<section><h2>Gateway</h2><table><tbody>
<tr><td>routes</td><td data-value="routes">–</td></tr><tr><td>redis</td><td data-value="redis">–</td></tr>
<tr><td>registry</td><td data-value="registry">–</td></tr><tr><td>drain</td><td data-value="drain">–</td></tr>
</tbody></table></section>
<section><h2>Push API</h2><table><thead><tr><th>outcome</th><th>total</th><th>rate</th></tr></thead>
<tbody id="push"></tbody></table></section>
<section class="wide"><h2>Backend endpoints (per worker)</h2><table><thead><tr><th>endpoint</th><th>worker</th>
<th>stream</th><th>circuit</th><th>mailbox</th><th>peak</th><th>in-flight bytes</th><th>writes/s</th>
<th>packets/s</th><th>full/s</th><th>unavailable/s</th></tr></thead><tbody id="endpoints"></tbody></table></section>
<section class="wide"><h2>Refusals and drops (all workers)</h2><div class="cols">
<table><thead><tr><th>client messages</th><th>total</th><th>rate</th></tr></thead>
<tbody id="refused-messages"></tbody></table>
<table><thead><tr><th>upgrades</th><th>total</th><th>rate</th></tr></thead><tbody id="refused-upgrades"></tbody></table>
<table><thead><tr><th>authentication</th><th>total</th><th>rate</th></tr></thead>
<tbody id="refused-auth"></tbody></table>
<table><thead><tr><th>dropped</th><th>total</th><th>rate</th></tr></thead>
<tbody id="drops"></tbody></table></div></section>
</main>`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page allows its own inline style and script (by hash) and fetches from its own origin only. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>actorgate dashboard</title>
<style>${STYLE}</style></head><body>${BODY}
<script>${SCRIPT}</script></body></html>
`;
