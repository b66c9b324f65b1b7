// /bench.html: the wasm protocol codec against JSON, in the browser.
//
// Every measurement runs one operation in a loop for a fixed time (after a
// warm-up of a quarter of that) and reports operations per second; the result of each call
// is kept in a sink so the engine cannot drop the work. Measurements yield to
// the event loop between them, so the page stays responsive and fills in row
// by row.

import { loadProtocol } from './protocol.js';
import { $, h } from './ui/dom.js';

const SENTENCES = [
  'Hello everyone, the release is out! Grab it today.',
  'Can someone review the migration before lunch?',
  'I pushed a fix for the reconnect bug, tests are green.',
  'Meeting moved to 3pm, same room.',
  'Has anyone seen the new dashboard numbers? Looks like latency dropped a lot after the batch writer change.',
  'lol yes',
  'The build on main is failing because of a flaky test in the storage suite; I am looking into it now.',
  'Thanks!',
];
const NAMES = ['ana', 'bo', 'chidi', 'dana', 'emeka', 'farah', 'goran', 'hiro'];
const NOW = 1790000000000;

function record(i) {
  const reactions = i % 3 === 0 ? [{ reaction: 'like', count: 1 + (i % 4) }, { reaction: 'heart', count: 1 }] : [];
  return {
    seq: 1200 + i, author_id: 7 + (i % NAMES.length), author: NAMES[i % NAMES.length],
    client_msg_id: 548535317935783 + i * 7919, sent_at: NOW + i * 37000, edited_at: i % 11 === 0 ? NOW + i * 37000 + 5000 : 0,
    reply_to: i % 7 === 0 && i > 0 ? 1200 + i - 1 : 0, deleted: false, deleted_by: 0, text: SENTENCES[i % SENTENCES.length],
    reactions, my_reactions: i % 6 === 0 ? 1 : 0,
  };
}

/** The packets measured, each a plain object as the client uses it. */
function samples() {
  const users = Array.from({ length: 100 }, (_, i) => ({ id: 1000 + i * 13, name: `${NAMES[i % NAMES.length]}${i}` }));
  return [
    { name: 'send_message', note: '50-byte text', packet: { type: 'send_message', room_id: 3, client_msg_id: 548535317935783, reply_to: 0, text: SENTENCES[0], resend: false } },
    { name: 'chat_message', note: '50-byte text, 2 reactions', packet: { type: 'chat_message', room_id: 3, message: record(0) } },
    { name: 'ack', note: '', packet: { type: 'ack', room_id: 3, client_id: 548535317935783, seq: 1201, at: NOW } },
    { name: 'typing_update', note: '', packet: { type: 'typing_update', room_id: 3, user: { id: 8, name: 'bo' }, active: true } },
    { name: 'reaction_update', note: '', packet: { type: 'reaction_update', room_id: 3, seq: 1250, message_seq: 1201, reaction: 'heart', count: 3, user_id: 8, added: true } },
    { name: 'presence_update', note: 'snapshot of 100 users', packet: { type: 'presence_update', room_id: 3, change: 'snapshot', users, online: users.length } },
    { name: 'history_page', note: '50 messages', packet: { type: 'history_page', room_id: 3, mode: 'latest', has_more: true, messages: Array.from({ length: 50 }, (_, i) => record(i)) } },
  ];
}

let sink = 0;

/** Runs `fn` for about `ms` milliseconds; returns operations per second. */
async function measure(fn, ms) {
  // Warm up long enough for the engine to optimise both sides of the call.
  const warm = performance.now() + Math.max(40, ms / 4);
  while (performance.now() < warm) for (let i = 0; i < 8; i++) sink ^= keep(fn());
  await new Promise((resolve) => setTimeout(resolve, 0));
  let n = 0;
  let batch = 16;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) sink ^= keep(fn());
    n += batch;
    elapsed = performance.now() - start;
    if (elapsed < ms / 8) batch *= 2;
  }
  return (n * 1000) / elapsed;
}

function keep(result) {
  if (typeof result === 'string') return result.length;
  if (result && typeof result.length === 'number') return result.length;
  return result ? 1 : 0;
}

const rate = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));
const utf8 = new TextEncoder();

function cell(value, cls = 'num', metric = '') {
  return h('td', { class: cls, dataset: metric ? { metric } : {} }, value);
}

function ratioCell(factor, metric, isSize) {
  const better = isSize ? factor < 1 : factor > 1;
  let text;
  if (isSize) text = factor <= 1 ? `${Math.round((1 - factor) * 100)}% smaller` : `${Math.round((factor - 1) * 100)}% larger`;
  else text = factor >= 1 ? `${factor.toFixed(2)}× faster` : `${(1 / factor).toFixed(2)}× slower`;
  return h('td', { class: `num ${better ? 'better' : 'worse'}`, dataset: { metric, value: factor.toFixed(4) } }, text);
}

async function run(parley) {
  const ms = Number($('bench-ms').value) || 400;
  const button = $('bench-run');
  const status = $('bench-status');
  const tbody = $('bench-results').tBodies[0];
  button.disabled = true;
  document.body.dataset.state = 'running';
  tbody.replaceChildren();
  const list = samples();
  for (const [i, s] of list.entries()) {
    status.textContent = `Measuring ${s.name} (${i + 1} of ${list.length})…`;
    const row = h('tr', { dataset: { packet: s.name } },
      h('th', { scope: 'row' }, h('span', { class: 'packet-name', text: s.name }), s.note ? h('span', { class: 'packet-note', text: s.note }) : null),
      ...Array.from({ length: 8 }, () => cell('…', 'num pending')));
    tbody.append(row);

    const bytes = parley.encode(s.packet).slice(); // encode's view lasts until the next call
    const json = JSON.stringify(s.packet);
    const jsonBytes = utf8.encode(json).length;
    const enc = await measure(() => parley.encode(s.packet), ms);
    const dec = await measure(() => parley.decode(bytes), ms);
    const str = await measure(() => JSON.stringify(s.packet), ms);
    const par = await measure(() => JSON.parse(json), ms);
    const roundTrip = (1 / str + 1 / par) / (1 / enc + 1 / dec);
    row.replaceChildren(row.firstChild,
      cell(rate(enc), 'num', 'wasm-encode'), cell(rate(dec), 'num', 'wasm-decode'), cell(bytes.length.toLocaleString(), 'num', 'wasm-bytes'),
      cell(rate(str), 'num', 'json-encode'), cell(rate(par), 'num', 'json-decode'), cell(jsonBytes.toLocaleString(), 'num', 'json-bytes'),
      ratioCell(bytes.length / jsonBytes, 'size-ratio', true), ratioCell(roundTrip, 'speed-ratio', false));
    for (const [metric, v] of Object.entries({ 'wasm-encode': enc, 'wasm-decode': dec, 'json-encode': str, 'json-decode': par })) {
      row.querySelector(`[data-metric="${metric}"]`).dataset.value = String(Math.round(v));
    }
    row.querySelector('[data-metric="wasm-bytes"]').dataset.value = String(bytes.length);
    row.querySelector('[data-metric="json-bytes"]').dataset.value = String(jsonBytes);
  }
  status.textContent = `Done: ${list.length} packets, ${ms} ms per measurement. ${navigator.userAgent.match(/(Chrome|Firefox|Safari)\/[\d.]+/)?.[0] ?? ''}`;
  document.body.dataset.state = 'done';
  button.disabled = false;
  globalThis.benchSink = sink;
}

async function main() {
  let parley;
  try {
    parley = await loadProtocol();
  } catch (e) {
    $('bench-status').textContent = `The WebAssembly module failed to load: ${e.message}`;
    document.body.dataset.state = 'failed';
    return;
  }
  const ms = new URLSearchParams(location.search).get('ms');
  if (ms && [...$('bench-ms').options].some((o) => o.value === ms)) $('bench-ms').value = ms;
  $('bench-run').addEventListener('click', () => run(parley));
  run(parley);
}

main();
