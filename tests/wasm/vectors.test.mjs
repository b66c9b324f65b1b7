// The golden vectors (tests/vectors/packets.json) in the wasm build: every
// vector decodes to the fields native decoding gives (the JSON in the file)
// and re-encodes to the very same bytes; every error vector fails with its
// error, as a ParleyError.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { fromHex, loadBuild, readVectors, toHex } from './support.mjs';

let parley;
let ParleyError;
const doc = readVectors();

before(async () => {
  ({ parley, ParleyError } = await loadBuild());
});

test('every vector decodes to its packets and re-encodes to its bytes', () => {
  assert.ok(doc.vectors.length >= 30);
  const kinds = new Set();
  for (const v of doc.vectors) {
    const decoded = parley.decode(fromHex(v.hex));
    assert.deepStrictEqual(decoded, v.packets, v.name);
    const again = v.batch ? parley.encodeBatch(v.packets) : parley.encode(v.packets[0]);
    assert.equal(toHex(again), v.hex, `${v.name}: re-encoding differs`);
    for (const p of decoded) kinds.add(p.type);
  }
  assert.deepStrictEqual([...kinds].sort(), Object.keys(parley.kinds).sort(), 'every kind needs a vector');
});

test('every error vector fails with its error code', () => {
  const seen = new Set();
  for (const v of doc.errors) {
    assert.throws(
      () => parley.decode(fromHex(v.hex)),
      (e) => {
        assert.ok(e instanceof ParleyError, `${v.name}: ${e}`);
        assert.equal(e.name, v.error, v.name);
        assert.equal(e.code, parley.errors[v.error], v.name);
        assert.ok(e.message.length > 10, `${v.name}: the message describes the error`);
        return true;
      },
    );
    seen.add(v.error);
  }
  // One vector per decode error: codes 1-17.
  const decodeErrors = Object.keys(parley.errors).filter((name) => parley.errors[name] < 100);
  assert.deepStrictEqual([...seen].sort(), decodeErrors.sort());
});

test('decoding accepts an ArrayBuffer and a subarray view, and copies what it needs', () => {
  const v = doc.vectors.find((x) => !x.batch);
  const bytes = fromHex(v.hex);
  assert.deepStrictEqual(parley.decode(bytes.buffer), v.packets);
  const padded = new Uint8Array(bytes.length + 10);
  padded.set(bytes, 5);
  assert.deepStrictEqual(parley.decode(padded.subarray(5, 5 + bytes.length)), v.packets);
  // encode returns a view valid until the next call; a copy of it belongs to
  // the caller, and later calls must not change it.
  const first = parley.encode(v.packets[0]).slice();
  const snapshot = toHex(first);
  parley.encode({ type: 'ping', nonce: 77 });
  parley.decode(fromHex(doc.vectors.at(-1).hex));
  assert.equal(toHex(first), snapshot);
});
