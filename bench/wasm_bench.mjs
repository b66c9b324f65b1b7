// Encode/decode cost of typical packets in the WebAssembly build, beside
// JSON.stringify/JSON.parse of the very same objects, in one node process.
//
//   make bench-wasm                 (builds build/wasm/ first)
//   node bench/wasm_bench.mjs [--time-ms=200] [--repetitions=7] [--split=1]
//
// The packets are those of bench/protocol_bench.cpp (built here as
// tests/support/sample_packets.hpp builds them): a 50-byte chat message, a
// 2 KB message (LZ4-compressed on the wire) and a history page of 50
// messages (compressed); then what a browser receives most often: the
// broadcast of a 50-byte message (chat_message) and the ack of its own.
// Each figure is the median of several timed runs; the machines are shared
// and noisy, so read the ratio to JSON measured in the same run rather than
// the absolute times.
//
// --split=1 adds a second table: the same calls, and the module's call
// alone (parley_encode on a tape already written, parley_decode on bytes
// already copied in), which is what the codec costs before JavaScript builds
// or reads a single object.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const wasmDir = process.env.PARLEY_WASM_DIR ?? path.join(root, 'build/wasm');
const { loadParley } = await import(pathToFileURL(path.join(wasmDir, 'parley.js')).href);

const option = (name, fallback) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.split('=')[1]) : fallback;
};
const timeMs = option('time-ms', 200);
const repetitions = option('repetitions', 7);
const split = option('split', 0) !== 0;

// ---- the sample packets (tests/support/sample_packets.hpp) -----------------------

const fiftyByteText = 'Hello everyone, the release is out! Grab it today.';

function sampleRecord(seq, text) {
  return {
    seq, author_id: 7, author: 'ana', client_msg_id: 0x1f2e3d4c5b6a7 + seq,
    sent_at: 1_790_000_000_000 + seq * 1000, edited_at: 0, reply_to: 0, deleted: false, deleted_by: 0,
    text, reactions: [], my_reactions: 0,
  };
}

function sampleHistory(n) {
  const messages = [];
  for (let i = 0; i < n; i++) {
    const m = sampleRecord(1000 + i, `message number ${i} in a long scroll-back of the lobby`);
    if (i % 7 === 0) m.reactions = [{ reaction: 'like', count: 3 }, { reaction: 'heart', count: 1 }];
    if (i % 11 === 0) m.edited_at = m.sent_at + 5000;
    if (i % 13 === 0) {
      m.deleted = true;
      m.deleted_by = m.author_id;
      m.text = '';
    }
    messages.push(m);
  }
  return { type: 'history_page', room_id: 3, mode: 'older', has_more: true, messages };
}

function sampleLongText(size = 2000) {
  let s = '';
  while (s.length < size) s += 'The quick brown fox jumps over the lazy dog. ';
  return s.slice(0, size);
}

const sendMessage = (text) => ({ type: 'send_message', room_id: 3, client_msg_id: 0x1f2e3d4c5b6a7, reply_to: 0, text, resend: false });

const shapes = [
  ['text_50B', sendMessage(fiftyByteText)],
  ['text_2KB', sendMessage(sampleLongText())],
  ['history_50', sampleHistory(50)],
  ['chat_message_50B', { type: 'chat_message', room_id: 3, message: sampleRecord(1201, fiftyByteText) }],
  ['ack', { type: 'ack', room_id: 3, client_id: 0x1f2e3d4c5b6a7, seq: 1201, at: 1_790_000_001_201 }],
];

// ---- timing ----------------------------------------------------------------------

let sink = 0; // keeps results alive so no call is optimised away

/** Calls of `fn` that take about timeMs. */
function calibrate(fn) {
  for (let batch = 1; ; batch *= 2) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink ^= fn().length;
    const elapsed = Number(process.hrtime.bigint() - start);
    if (elapsed > 20e6) return Math.max(1, Math.round((batch * timeMs * 1e6) / elapsed));
  }
}

function run(fn, batch) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < batch; i++) sink ^= fn().length;
  return Number(process.hrtime.bigint() - start) / batch;
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

/** Times `wasm` and `json` in alternating runs, so that both see the same
 *  load on a shared machine. @returns median ns per call of each, and the
 *  median of the per-run ratios wasm/json. */
function compare(wasm, json) {
  const batches = [calibrate(wasm), calibrate(json)];
  const w = [];
  const j = [];
  for (let r = 0; r < repetitions; r++) {
    w.push(run(wasm, batches[0]));
    j.push(run(json, batches[1]));
  }
  return { wasm: median(w), json: median(j), ratio: median(w.map((x, i) => x / j[i])) };
}

const parley = await loadParley();
const utf8 = new TextEncoder();
const rows = [];
for (const [name, packet] of shapes) {
  const bytes = parley.encode(packet);
  const text = JSON.stringify(packet);
  rows.push({
    shape: name,
    wire_bytes: bytes.length,
    json_bytes: utf8.encode(text).length,
    encode: compare(() => parley.encode(packet), () => JSON.stringify(packet)),
    decode: compare(() => parley.decode(bytes), () => [JSON.parse(text)]),
  });
}

const fmt = (ns) => (ns >= 1e4 ? `${(ns / 1e3).toFixed(0)} us` : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} us` : `${ns.toFixed(0)} ns`);
const ratio = (r) => `${r.toFixed(1)}x`;
console.log(`node ${process.version}, ${repetitions} alternating runs of ~${timeMs} ms; medians, and the median ratio wasm/JSON`);
console.log('| packet | bytes: wire (JSON) | encode wasm | JSON.stringify | ratio | decode wasm | JSON.parse | ratio |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.shape} | ${r.wire_bytes} (${r.json_bytes}) | ${fmt(r.encode.wasm)} | ${fmt(r.encode.json)} | ` +
    `${ratio(r.encode.ratio)} | ${fmt(r.decode.wasm)} | ${fmt(r.decode.json)} | ${ratio(r.decode.ratio)} |`);
}
if (split) await printSplit();
if (sink === 0.5) console.log(''); // never true; reads the sink

/** The module's call alone beside the whole API call, per packet, from a
 *  second instance whose tape and input area the benchmark fills itself. */
async function printSplit() {
  const { readFile } = await import('node:fs/promises');
  const { default: createModule } = await import(pathToFileURL(path.join(wasmDir, 'parley_protocol.js')).href);
  const module = await createModule({ wasmBinary: await readFile(path.join(wasmDir, 'parley_protocol.wasm')) });
  const io = module._parley_io() >>> 2;
  const word = (i) => new Uint32Array(module.HEAPU8.buffer)[io + i];
  // A codec over this instance writes each packet's tape; the module keeps
  // the sizes it was given (io words 8 and 9).
  const { makeCodec } = await import(pathToFileURL(path.join(wasmDir, 'parley_codec.js')).href);
  const at = module._parley_describe();
  const vocabulary = JSON.parse(new TextDecoder().decode(module.HEAPU8.subarray(at, module.HEAPU8.indexOf(0, at))));
  const codec = makeCodec(module, vocabulary);
  console.log('');
  console.log('the module call alone (no JS objects read or built), beside the whole call, same run:');
  console.log('| packet | encode: whole | module call | decode: whole | module call |');
  console.log('|---|---|---|---|---|');
  for (const [name, packet] of shapes) {
    // parley_encode only reads the tape and the text, and the whole call
    // writes the same ones again, so both can alternate on one tape.
    const bytes = codec.encode(packet).slice();
    const doubles = word(8);
    const text = word(9);
    const e = compare(() => [module._parley_encode(doubles, text, 0)], () => codec.encode(packet));
    module.HEAPU8.set(bytes, word(4));
    const d = compare(() => [module._parley_decode(bytes.length)], () => codec.decode(bytes));
    console.log(`| ${name} | ${fmt(e.json)} | ${fmt(e.wasm)} | ${fmt(d.json)} | ${fmt(d.wasm)} |`);
  }
}
