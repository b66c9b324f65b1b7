// Native and wasm builds agree: on random packets encoded natively, on
// packets made and encoded in JavaScript, and on malformed input. The native
// side is parley-interop (tests/wasm/interop.cpp), run as a child process.
//
// PARLEY_TEST_SEED picks other random packets (the seed is printed).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { fixChecksum, fromHex, interop, loadBuild, random, readVectors, toHex } from './support.mjs';

const seed = Number(process.env.PARLEY_TEST_SEED ?? 20250601);
const count = 2000;
let parley;
let ParleyError;

before(async () => {
  ({ parley, ParleyError } = await loadBuild());
});

const encodeMessage = (m) => (m.batch ? parley.encodeBatch(m.packets) : parley.encode(m.packets[0]));

test('random packets encoded natively decode in wasm to the same fields, and wasm encodes them to the same bytes', (t) => {
  t.diagnostic(`random packets from seed ${seed} (PARLEY_TEST_SEED)`);
  const messages = interop(['generate', String(count), String(seed)]);
  assert.equal(messages.length, count);
  const kinds = new Set();
  for (const [i, m] of messages.entries()) {
    assert.deepStrictEqual(parley.decode(fromHex(m.hex)), m.packets, `message ${i}`);
    assert.equal(toHex(encodeMessage(m)), m.hex, `message ${i}: wasm bytes differ from native`);
    for (const p of m.packets) kinds.add(p.type);
  }
  assert.equal(kinds.size, Object.keys(parley.kinds).length, 'every kind was generated');
});

// ---- packets made in JavaScript ------------------------------------------------

function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

/** Random well-formed text of at most `maxBytes` UTF-8 bytes: ASCII, NUL,
 *  2- and 3-byte characters and astral ones (surrogate pairs in JS). */
function randomText(rnd, maxBytes) {
  const target = rnd() < 0.2 ? maxBytes : rnd.int(maxBytes + 1);
  let text = '';
  let bytes = 0;
  for (;;) {
    const width = 1 + rnd.int(4);
    let cp;
    if (width === 1) cp = rnd() < 0.05 ? 0 : 0x20 + rnd.int(0x5f);
    else if (width === 2) cp = 0x80 + rnd.int(0x780);
    else if (width === 3) do cp = 0x800 + rnd.int(0xf800); while (cp >= 0xd800 && cp <= 0xdfff);
    else cp = 0x10000 + rnd.int(0x100000);
    if (bytes + width > target) return text;
    text += String.fromCodePoint(cp);
    bytes += width;
  }
}

/** The enumeration each enum-valued field name holds (packets.hpp). */
const enumOf = {
  reaction: 'reaction_kind', change: 'presence_change', mode: 'history_mode', room_type: 'room_kind',
  role: 'room_role', state: 'membership', action: 'room_action', reason: 'leave_reason',
};

/** A variation of a valid packet: every value replaced by a random one that
 *  stays within the original's bound (numbers no larger, text no longer in
 *  UTF-8), so the result is valid too, yet made entirely in JavaScript. */
function vary(value, rnd, key) {
  if (Array.isArray(value)) return value.map((item) => vary(item, rnd, key));
  if (typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === 'type' ? v : vary(v, rnd, k);
    return out;
  }
  if (typeof value === 'number') return rnd() < 0.1 ? value : Math.floor(rnd() * (value + 1));
  if (typeof value === 'boolean') return rnd() < 0.5;
  if (key in enumOf) return rnd.pick(parley.enums[enumOf[key]]);
  return randomText(rnd, utf8Length(value));
}

test('packets made and encoded in wasm decode natively to the same fields', () => {
  const rnd = random(seed);
  const templates = interop(['generate', String(count), String(seed + 1)]);
  const made = templates.map((m) => ({ batch: m.batch, packets: m.packets.map((p) => vary(p, rnd)) }));
  const decoded = interop(['decode'], made.map((m) => toHex(encodeMessage(m))));
  assert.equal(decoded.length, made.length);
  for (const [i, m] of made.entries()) {
    assert.equal(decoded[i].error, undefined, `message ${i}: native refused it`);
    assert.deepStrictEqual(decoded[i].packets, m.packets, `message ${i}`);
  }
});

// ---- malformed input ---------------------------------------------------------

/** Damaged copies of valid messages: flipped, cut, extended, spliced, and
 *  mutated behind a recomputed CRC so the damage reaches the parsers. */
function malformedInputs(rnd, sources, n) {
  const out = [];
  while (out.length < n) {
    const base = fromHex(rnd.pick(sources));
    let bytes = base.slice();
    switch (rnd.int(6)) {
      case 0:
        for (let k = 1 + rnd.int(3); k > 0; k--) bytes[rnd.int(bytes.length)] ^= 1 << rnd.int(8);
        break;
      case 1:
        bytes = bytes.subarray(0, rnd.int(bytes.length));
        break;
      case 2:
        bytes = Uint8Array.from([...bytes, ...Array.from({ length: 1 + rnd.int(4) }, () => rnd.int(256))]);
        break;
      case 3:
        bytes = Uint8Array.from({ length: rnd.int(48) }, () => rnd.int(256));
        break;
      default: {
        // Past the header (at least 5 bytes) and before the CRC.
        const body = bytes.length - 4 - 5;
        if (body > 0) for (let k = 1 + rnd.int(3); k > 0; k--) bytes[5 + rnd.int(body)] = rnd.int(256);
        bytes = fixChecksum(bytes);
      }
    }
    out.push(toHex(bytes));
  }
  return out;
}

test('native and wasm decoding give the same answer for every malformed input', (t) => {
  const rnd = random(seed + 2);
  const sources = [
    ...readVectors().vectors.map((v) => v.hex),
    ...interop(['generate', '300', String(seed + 3)]).map((m) => m.hex),
  ];
  const inputs = malformedInputs(rnd, sources, 5000);
  const native = interop(['decode'], inputs);
  const errors = new Set();
  for (const [i, hex] of inputs.entries()) {
    let wasm;
    try {
      wasm = { packets: parley.decode(fromHex(hex)) };
    } catch (e) {
      assert.ok(e instanceof ParleyError, `input ${hex}: ${e}`);
      wasm = { error: e.name };
      errors.add(e.name);
    }
    assert.deepStrictEqual(wasm, native[i], `input ${i}: ${hex.slice(0, 80)}`);
  }
  assert.ok(errors.size >= 8, `mutations reach many error paths (saw ${[...errors].join(', ')})`);
  t.diagnostic(`errors seen: ${[...errors].sort().join(' ')}`);
});
