// The binding's own promises (wasm/parley.js, parley_codec.js, bindings.cpp):
// what encode's view and decode's objects may be trusted for across calls,
// how strings come back through the text area and in place, and that the
// module checks a tape as if it were hostile.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { loadBuild, random, toHex, wasmDir } from './support.mjs';

const { parley, ParleyError } = await loadBuild();

const record = (seq, text) => ({
  seq, author_id: 7, author: 'ana', client_msg_id: 1000 + seq, sent_at: 1_790_000_000_000 + seq, edited_at: 0,
  reply_to: 0, deleted: false, deleted_by: 0, text, reactions: seq % 2 ? [{ reaction: 'heart', count: 2 }] : [], my_reactions: 0,
});
const page = (texts) => ({ type: 'history_page', room_id: 3, mode: 'older', has_more: true, messages: texts.map((t, i) => record(i, t)) });
const sendMessage = (text) => ({ type: 'send_message', room_id: 3, client_msg_id: 42, reply_to: 0, text, resend: false });

const assertCode = (fn, name) =>
  assert.throws(fn, (e) => e instanceof ParleyError && e.name === name && e.code === parley.errors[name], `expected ${name}`);

// ---- encode's view ---------------------------------------------------------------

test('encode returns a view of the module that the next call reuses; a slice is the caller\'s', () => {
  const a = parley.encode(sendMessage('first'));
  const copy = a.slice();
  const hex = toHex(copy);
  assert.deepStrictEqual(parley.decode(a), [sendMessage('first')]);
  parley.encode(sendMessage('second, and longer than the first'));
  parley.encodeBatch([{ type: 'ping', nonce: 1 }, sendMessage('third')]);
  parley.decode(parley.encode(page(['x'.repeat(3000), 'y'])));
  assert.equal(toHex(copy), hex, 'a copy never changes');
  assert.deepStrictEqual(parley.decode(copy), [sendMessage('first')]);
});

test('decode takes encode\'s view directly, also when the input area must grow first', () => {
  // Incompressible text: the message is larger than the input area holds at
  // first, so decode copies the view out before the module's memory grows.
  const rnd = random(5);
  const noise = () => Array.from({ length: 4000 }, () => String.fromCharCode(33 + rnd.int(90))).join('');
  const big = page(Array.from({ length: 40 }, noise));
  const view = parley.encode(big);
  assert.ok(view.length > 100_000, `${view.length} bytes`);
  assert.deepStrictEqual(parley.decode(view), [big]);
  const batch = parley.encodeBatch([big, sendMessage('after')]);
  assert.deepStrictEqual(parley.decode(batch), [big, sendMessage('after')]);
});

// ---- decode's objects --------------------------------------------------------------

test('decoded packets are plain objects that later calls leave alone', () => {
  const long = 'long '.repeat(100);
  const original = page(['short', long, '', 'caf\u00e9 \u{1F600}', long + '\u00e9']);
  const kept = parley.decode(parley.encode(original));
  const expected = structuredClone(kept);
  assert.deepStrictEqual(kept, [original]);
  for (let i = 0; i < 50; i++) {
    parley.decode(parley.encode(page([`other ${i}`, 'z'.repeat(300 + i)])));
    parley.encode(sendMessage('w'.repeat(i)));
  }
  assertCode(() => parley.decode(parley.encode(sendMessage('cut')).slice(0, 3)), 'truncated');
  assert.deepStrictEqual(kept, expected);
  assert.equal(Object.getPrototypeOf(kept[0]), Object.prototype);
  assert.ok(Array.isArray(kept[0].messages));
});

test('strings come back exactly: a leading BOM, NULs, astral characters, short and long, in field order', () => {
  const texts = [
    '\uFEFFstarts with a BOM', '\uFEFF', '', '\0', 'nul \0 inside', '\u{1F600}'.repeat(3) + 'after astral',
    '\u{1F600}'.repeat(200), 'a'.repeat(255), 'b'.repeat(256), '\u00e9'.repeat(128), 'end',
  ];
  const original = page(texts);
  assert.deepStrictEqual(parley.decode(parley.encode(original)), [original]);
  for (const t of texts) assert.deepStrictEqual(parley.decode(parley.encode(sendMessage(t))), [sendMessage(t)]);
  // Several string fields in one record, short and long mixed.
  const room = {
    type: 'room_joined', room_id: 9, room: 'lobby', title: '\u{1F389} party', topic: 't'.repeat(400), room_type: 'public',
    role: 'owner', muted: false, epoch: 1, last_seq: 2, persisted_seq: 2,
  };
  const [back] = parley.decode(parley.encode(room));
  for (const [name, value] of Object.entries(room)) assert.equal(back[name], value, name);
});

test('random mixes of strings and packets round-trip in batches', () => {
  const rnd = random(17);
  const pieces = ['a', 'ascii text ', '\u00e9', '\u20ac', '\u{1F600}', '\uFEFF', '\0', 'x'.repeat(97)];
  const text = () => Array.from({ length: rnd.int(60) }, () => rnd.pick(pieces)).join('').slice(0, 1000);
  for (let round = 0; round < 200; round++) {
    const packets = Array.from({ length: 1 + rnd.int(4) }, () =>
      rnd() < 0.5 ? sendMessage(text()) : page(Array.from({ length: rnd.int(5) }, text)));
    const safe = packets.filter((p) => p.type !== 'send_message' || new TextEncoder().encode(p.text).length <= 4000);
    assert.deepStrictEqual(parley.decode(parley.encodeBatch(safe.length ? safe : [sendMessage('')])), safe.length ? safe : [sendMessage('')]);
  }
});

// ---- errors ----------------------------------------------------------------------

test('every failure is a typed ParleyError, and the module keeps working after it', () => {
  const good = parley.encode(sendMessage('ok')).slice();
  const corrupt = good.slice();
  corrupt[8] ^= 0xff;
  assertCode(() => parley.decode(corrupt), 'bad_checksum');
  assertCode(() => parley.decode(good.subarray(0, good.length - 1)), 'truncated');
  assertCode(() => parley.decode(new Uint8Array([0x51, 3, 4, 0, 0, 0, 0, 0, 0])), 'bad_magic');
  assertCode(() => parley.encode(sendMessage(42)), 'bad_value');
  assertCode(() => parley.encodeBatch([]), 'empty_batch');
  assertCode(() => parley.encode(sendMessage('x'.repeat(4001))), 'field_too_long');
  assert.deepStrictEqual(parley.decode(good), [sendMessage('ok')]);
});

// ---- the tape, as the module reads it ------------------------------------------

test('the module refuses a tape that parley_codec.js would never write, without trapping', async () => {
  // The raw module, with tapes written by hand into its areas.
  const { default: createModule } = await import(pathToFileURL(path.join(wasmDir, 'parley_protocol.js')).href);
  const module = await createModule({ wasmBinary: readFileSync(path.join(wasmDir, 'parley_protocol.wasm')) });
  const io = module._parley_io() >>> 2;
  assert.equal(module._parley_reserve(0, 64), 0);
  assert.equal(module._parley_reserve(1, 64), 0);
  const encodeTape = (tape, text = '', batch = 0) => {
    const u32 = new Uint32Array(module.HEAPU8.buffer);
    new Float64Array(module.HEAPU8.buffer, u32[io], tape.length).set(tape);
    const bytes = new TextEncoder().encode(text);
    module.HEAPU8.set(bytes, u32[io + 2]);
    return module._parley_encode(tape.length, bytes.length, batch);
  };
  const kind = parley.kinds.send_message;
  const e = parley.errors;
  // The one good tape: 1 packet, send_message {room_id, client_msg_id, reply_to, text(2 bytes), resend}.
  assert.equal(encodeTape([1, kind, 3, 42, 0, 2, 0], 'hi'), 0);
  const bad = [
    [[1, kind, -1, 42, 0, 2, 0], 'hi', e.bad_value],                 // a negative integer
    [[1, kind, 0.5, 42, 0, 2, 0], 'hi', e.bad_value],                // a fraction
    [[1, kind, NaN, 42, 0, 2, 0], 'hi', e.bad_value],
    [[1, kind, 2 ** 32, 42, 0, 2, 0], 'hi', e.bad_value],            // past the field's bound
    [[1, kind, 3, 2 ** 53, 0, 2, 0], 'hi', e.bad_value],             // past 2^53-1
    [[1, kind, 3, 42, 0, 3, 0], 'hi', e.bad_value],                  // text past the text written
    [[1, kind, 3, 42, 0, 2, 2], 'hi', e.bad_value],                  // a bool that is not 0 or 1
    [[1, kind, 3, 42, 0, 2], 'hi', e.bad_value],                     // the tape ends early
    [[1, kind, 3, 42, 0, 2, 0, 7], 'hi', e.bad_value],               // slots left over
    [[1, 0x7f, 3, 42, 0, 2, 0], 'hi', e.unknown_kind],               // batch is no packet
    [[1, 0x30, 3], '', e.unknown_kind],
    [[2, kind, 3, 42, 0, 2, 0], 'hi', e.bad_value],                  // two packets, not a batch
    [[1e9, kind], '', e.bad_value],
    [[1, parley.kinds.open_direct, 1, 1e9, 1], '', e.too_many_items], // a list count past its limit
  ];
  for (const [tape, text, code] of bad) assert.equal(encodeTape(tape, text), code, JSON.stringify(tape));
  // Invalid UTF-8 written straight into the text area: the codec still checks it.
  const u32 = new Uint32Array(module.HEAPU8.buffer);
  new Float64Array(module.HEAPU8.buffer, u32[io], 7).set([1, kind, 3, 42, 0, 2, 0]);
  module.HEAPU8.set([0xff, 0xfe], u32[io + 2]);
  assert.equal(module._parley_encode(7, 2, 0), e.bad_utf8);
  // Sizes past the areas, and absurd reservations.
  assert.equal(module._parley_encode(1e6, 0, 0), e.bad_value);
  assert.equal(module._parley_encode(7, 1e9, 0), e.bad_value);
  assert.equal(module._parley_reserve(1, 2 ** 40), e.too_large);
  assert.equal(module._parley_reserve(2, -1), e.too_large);
  assert.equal(module._parley_decode(2 ** 31), e.too_large);
  assert.equal(encodeTape([1, kind, 3, 42, 0, 2, 0], 'hi'), 0);
});
