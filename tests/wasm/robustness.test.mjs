// Hostile input, in bulk: the wasm module takes 100,000 malformed messages in
// a row - random bytes, damaged vectors, damage behind a valid CRC, lying
// length fields, garbage LZ4 frames - plus junk JS objects and objects that
// throw while being read, and comes out working, with its memory and the
// process's memory under fixed bounds.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';

import { fixChecksum, fromHex, loadBuild, random, readVectors } from './support.mjs';

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');

const MiB = 1024 * 1024;
let parley;
let ParleyError;
const vectors = readVectors();

before(async () => {
  ({ parley, ParleyError } = await loadBuild());
});

/** One malformed message, built by one of several strategies. */
function makeMalformed(rnd, seeds) {
  const base = rnd.pick(seeds);
  let bytes = base.slice();
  switch (rnd.int(8)) {
    case 0: // noise, sometimes with a valid magic and version in front
      bytes = Uint8Array.from({ length: rnd.int(rnd() < 0.9 ? 64 : 4096) }, () => rnd.int(256));
      if (rnd() < 0.5 && bytes.length > 2) bytes.set([0x50, 0x01]);
      return bytes;
    case 1: // bit flips
      for (let k = 1 + rnd.int(4); k > 0; k--) bytes[rnd.int(bytes.length)] ^= 1 << rnd.int(8);
      return bytes;
    case 2: // cut short
      return bytes.subarray(0, rnd.int(bytes.length));
    case 3: // bytes appended
      return Uint8Array.from([...bytes, ...Array.from({ length: 1 + rnd.int(8) }, () => rnd.int(256))]);
    case 4: // a length field that lies (up to the 3-byte maximum)
      bytes[4] = 0x80 | rnd.int(128);
      bytes[5] = 0x80 | rnd.int(128);
      if (bytes.length > 6) bytes[6] = rnd.int(128);
      return bytes;
    case 5: // kind or flags changed behind a valid CRC
      if (rnd() < 0.5) bytes[2] = rnd.int(256);
      else bytes[3] = rnd.int(256);
      return fixChecksum(bytes);
    default: // payload damaged behind a valid CRC: reaches the parsers and LZ4
      for (let k = 1 + rnd.int(6); k > 0; k--) {
        if (bytes.length > 10) bytes[5 + rnd.int(bytes.length - 9)] = rnd.int(256);
      }
      return fixChecksum(bytes);
  }
}

function decodeOrCode(bytes) {
  try {
    parley.decode(bytes);
    return 'ok';
  } catch (e) {
    if (!(e instanceof ParleyError)) throw new Error(`not a ParleyError: ${e && e.stack}`);
    return e.name;
  }
}

test('100,000 malformed inputs in a row: no crash, and memory stays bounded', (t) => {
  const rnd = random(7);
  const seeds = vectors.vectors.map((v) => fromHex(v.hex));
  const counts = {};
  let baseline;
  // Some mutations happen to leave a valid message; those do not count.
  for (let refused = 0; refused < 100_000;) {
    const result = decodeOrCode(makeMalformed(rnd, seeds));
    counts[result] = (counts[result] ?? 0) + 1;
    if (result === 'ok') continue;
    refused++;
    // Measured once the scratch buffers have met large inputs.
    if (refused === 10_000) {
      collectGarbage();
      baseline = { wasm: parley.memoryUsage(), js: process.memoryUsage() };
    }
  }
  collectGarbage();
  const wasm = parley.memoryUsage();
  const js = process.memoryUsage();
  t.diagnostic(`results: ${JSON.stringify(counts)}`);
  t.diagnostic(`wasm memory ${wasm.linear / MiB} MiB, heap in use ${(wasm.allocated / 1024).toFixed(1)} KiB; ` +
    `process rss ${(js.rss / MiB).toFixed(1)} MiB, js heap ${(js.heapUsed / MiB).toFixed(1)} MiB`);

  assert.ok(Object.keys(counts).length >= 10, 'the inputs reach many error paths');
  // Fixed bounds: the module is capped at 64 MiB and needs far less; a leak of
  // even 32 bytes per input would add 2.7 MiB to the heap over these 90,000.
  assert.ok(wasm.linear <= 16 * MiB, `wasm memory ${wasm.linear}`);
  assert.ok(wasm.allocated <= baseline.wasm.allocated + 1 * MiB,
    `wasm heap grew from ${baseline.wasm.allocated} to ${wasm.allocated}`);
  assert.ok(js.heapUsed <= baseline.js.heapUsed + 16 * MiB, `js heap grew from ${baseline.js.heapUsed} to ${js.heapUsed}`);
  assert.ok(js.rss <= 256 * MiB, `rss ${js.rss}`);

  // Still working.
  for (const v of vectors.vectors) assert.deepStrictEqual(parley.decode(fromHex(v.hex)), v.packets, v.name);
});

test('the largest packets decode, and the memory they need is reused', () => {
  // A history page of 100 messages of 4000 bytes, twice: the second time must
  // not need more memory than the first.
  const text = 'x'.repeat(parley.limits.max_text_bytes);
  const record = (seq) => ({
    seq, author_id: 1, author: 'ana', client_msg_id: seq, sent_at: 1, edited_at: 0, reply_to: 0,
    deleted: false, deleted_by: 0, text, reactions: [], my_reactions: 0,
  });
  const page = { type: 'history_page', room_id: 1, mode: 'latest', has_more: true, messages: [] };
  for (let i = 0; i < parley.limits.max_history_page; i++) page.messages.push(record(i));
  const bytes = parley.encode(page);
  assert.deepStrictEqual(parley.decode(bytes), [page]);
  const after = parley.memoryUsage();
  for (let i = 0; i < 20; i++) parley.decode(parley.encode(page));
  const now = parley.memoryUsage();
  assert.equal(now.linear, after.linear);
  assert.ok(now.allocated <= after.allocated + 64 * 1024, `heap in use grew from ${after.allocated} to ${now.allocated}`);
});

test('junk JS values and objects that throw while being read leave the module intact', () => {
  const rnd = random(11);
  const atoms = [null, undefined, 0, -1, 1.5, 2 ** 53, NaN, '', 'x', true, false, 10n, [], {}, Symbol('s'), () => 0];
  const names = ['type', 'room_id', 'text', 'client_msg_id', 'reply_to', 'resend', 'users', 'message', 'reaction'];
  const junk = (depth) => {
    if (depth > 2 || rnd() < 0.4) return rnd.pick(atoms);
    if (rnd() < 0.3) return Array.from({ length: rnd.int(4) }, () => junk(depth + 1));
    const o = {};
    for (let k = rnd.int(5); k > 0; k--) o[rnd.pick(names)] = junk(depth + 1);
    if (rnd() < 0.7) o.type = rnd.pick(Object.keys(parley.kinds));
    return o;
  };
  const baseline = parley.memoryUsage();
  for (let i = 0; i < 20_000; i++) {
    const value = junk(0);
    try {
      parley.encode(value);
    } catch (e) {
      assert.ok(e instanceof ParleyError, `${e}`);
    }
  }
  // Getters and proxies that throw from inside the wasm call: each throw
  // unwinds wasm frames, and the module must still be usable afterwards.
  const hostile = new Proxy({}, {
    get(_, key) {
      if (key === 'type') return 'send_message';
      throw new Error('no');
    },
  });
  const sneaky = { type: 'send_message', room_id: 1, client_msg_id: 1, reply_to: 0, resend: false };
  Object.defineProperty(sneaky, 'text', { get() { throw new Error('nope'); } });
  for (let i = 0; i < 20_000; i++) {
    assert.throws(() => parley.encode(i % 2 ? hostile : sneaky), (e) => e instanceof ParleyError && e.name === 'bad_value');
    assert.throws(() => parley.encodeBatch([{ type: 'ping', nonce: 1 }, sneaky]), ParleyError);
  }
  // A getter that calls back into the API is refused, not allowed to share
  // the scratch buffers of the call in progress.
  const reentrant = { type: 'ping', get nonce() { return parley.encode({ type: 'ping', nonce: 1 }).length; } };
  assert.throws(() => parley.encode(reentrant), (e) => e instanceof ParleyError && /inside a getter/.test(e.message));

  const [back] = parley.decode(parley.encode({ type: 'ping', nonce: 5 }));
  assert.deepStrictEqual(back, { type: 'ping', nonce: 5 });
  const now = parley.memoryUsage();
  assert.equal(now.linear, baseline.linear);
  assert.ok(now.allocated <= baseline.allocated + 64 * 1024, `heap in use grew from ${baseline.allocated} to ${now.allocated}`);
});
