// The JavaScript API of build/wasm/parley.js: its constants match the C++
// headers, and every mistake a caller can make comes back as a ParleyError
// with the protocol's code and a message naming the field, never as an
// abort of the module or a silently altered packet.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';

import { loadBuild, sourceDir } from './support.mjs';

let parley;
let ParleyError;

before(async () => {
  ({ parley, ParleyError } = await loadBuild());
});

const header = (name) => readFileSync(path.join(sourceDir, 'protocol', name), 'utf8');

const sendMessage = (fields = {}) => ({
  type: 'send_message', room_id: 3, client_msg_id: 42, reply_to: 0, text: 'hi', resend: false, ...fields,
});

const record = (fields = {}) => ({
  seq: 1, author_id: 7, author: 'ana', client_msg_id: 9, sent_at: 1, edited_at: 0, reply_to: 0,
  deleted: false, deleted_by: 0, text: 'hello', reactions: [], my_reactions: 0, ...fields,
});

/** Asserts that `call` throws a ParleyError named `name` whose message
 *  contains `detail` (when given). */
function assertFails(call, name, detail) {
  assert.throws(call, (e) => {
    assert.ok(e instanceof ParleyError, `expected a ParleyError, got ${e}`);
    assert.equal(e.name, name, e.message);
    assert.equal(e.code, parley.errors[name]);
    if (detail) assert.ok(e.message.includes(detail), `"${e.message}" should mention "${detail}"`);
    return true;
  });
}

// ---- constants -----------------------------------------------------------------

// The vocabulary is listed once, in vocabulary.hpp; the module must export
// exactly that list.
const vocabulary = (list) => {
  const body = header('vocabulary.hpp').split(`#define ${list}(X)`)[1].split('\n\n')[0];
  return [...body.matchAll(/X\((\w+), (0x[0-9A-Fa-f]+|\d+)/g)].map(([, name, value]) => [name, Number(value)]);
};

test('kinds are the packet kinds of vocabulary.hpp with their bytes', () => {
  const expected = Object.fromEntries(vocabulary('PARLEY_PACKET_KINDS'));
  assert.ok(Object.keys(expected).length >= 25);
  assert.deepStrictEqual({ ...parley.kinds }, expected);
});

test('limits hold every constant of limits.hpp', () => {
  const names = [...header('limits.hpp').matchAll(/inline constexpr [\w:]+ (\w+) =/g)].map((m) => m[1]);
  assert.ok(names.length >= 15);
  assert.deepStrictEqual(Object.keys(parley.limits).sort(), names.sort());
  assert.equal(parley.limits.max_text_bytes, 4000);
  assert.equal(parley.limits.max_packet_bytes, 1024 * 1024);
  assert.equal(parley.limits.max_safe_integer, Number.MAX_SAFE_INTEGER);
});

test('reactions, errors and error names', () => {
  assert.deepStrictEqual([...parley.reactions], ['like', 'dislike', 'heart', 'star', 'laugh', 'party']);
  const codes = [...vocabulary('PARLEY_DECODE_ERRORS'), ...vocabulary('PARLEY_SERVER_ERRORS')];
  assert.ok(codes.length >= 33);
  for (const [name, code] of codes) {
    assert.equal(parley.errors[name], Number(code), name);
    assert.equal(parley.errorNames[code], name);
  }
  assert.equal(Object.keys(parley.errors).length, codes.length);
  assert.ok(Object.isFrozen(parley) && Object.isFrozen(parley.limits));
});

// Every enumeration of packets.hpp, with its names in value order, as the
// detail::<enum>_names arrays list them.
test('enums are the enumerations of packets.hpp, names in value order', () => {
  const expected = Object.fromEntries(
    [...header('packets.hpp').matchAll(/inline constexpr std::string_view (\w+)_names\[\] = \{([^}]*)\}/g)]
      .map(([, name, body]) => [name, [...body.matchAll(/"(\w+)"/g)].map((m) => m[1])]));
  assert.ok(Object.keys(expected).length >= 8);
  assert.deepStrictEqual(JSON.parse(JSON.stringify(parley.enums)), expected);
  assert.deepStrictEqual(parley.enums.reaction_kind, parley.reactions);
  assert.deepStrictEqual(parley.enums.room_role, ['member', 'moderator', 'owner']);
  assert.ok(Object.isFrozen(parley.enums) && Object.isFrozen(parley.enums.room_action));
});

test('room packets name the room kind room_type, never type', () => {
  const created = { type: 'create_room', client_id: 5, name: 'Plans', room_type: 'private' };
  assert.deepStrictEqual(parley.decode(parley.encode(created)), [created]);
  assertFails(() => parley.encode({ ...created, room_type: 'secret' }), 'bad_value', "create_room.room_type: unknown name 'secret'");
});

test('server error codes travel in error_report packets and keep their names', () => {
  const report = {
    type: 'error_report', code: parley.errors.rate_limited, ref_kind: 4, ref: 99, retry_after_ms: 1500, text: 'slow down',
  };
  const [back] = parley.decode(parley.encode(report));
  assert.deepStrictEqual(back, report);
  assert.equal(parley.errorNames[back.code], 'rate_limited');
});

// ---- encode-side errors from JavaScript input -----------------------------------

test('text over its limit is field_too_long, counted in UTF-8 bytes', () => {
  const max = parley.limits.max_text_bytes;
  parley.encode(sendMessage({ text: 'a'.repeat(max) }));
  assertFails(() => parley.encode(sendMessage({ text: 'a'.repeat(max + 1) })), 'field_too_long', 'send_message.text');
  // 1334 three-byte characters are 4002 bytes but only 1334 UTF-16 units.
  assertFails(() => parley.encode(sendMessage({ text: '\u20ac'.repeat(1334) })), 'field_too_long', 'send_message.text');
  assertFails(() => parley.encode({ type: 'join_room', room: 'r'.repeat(65), epoch: 0, since_seq: 0 }), 'field_too_long', 'join_room.room');
  // A huge string is refused before it is copied into wasm memory.
  assertFails(() => parley.encode(sendMessage({ text: 'x'.repeat(50_000_000) })), 'field_too_long');
});

test('lone UTF-16 surrogates are bad_utf8 instead of being paired with a neighbour', () => {
  for (const text of ['\ud800', 'a\udc00b', '\ud83d', 'end\ud83d']) {
    assertFails(() => parley.encode(sendMessage({ text })), 'bad_utf8', 'send_message.text');
  }
  // Browsers from before 2023 lack String.prototype.isWellFormed; the glue
  // then scans the string itself, with the same answers.
  const isWellFormed = Object.getOwnPropertyDescriptor(String.prototype, 'isWellFormed');
  delete String.prototype.isWellFormed;
  try {
    for (const text of ['\ud800'.repeat(40), 'a\udc00b'.repeat(30), '\ud83d\ud83d\ude00'.repeat(30), 'x'.repeat(70) + '\ud83d']) {
      assertFails(() => parley.encode(sendMessage({ text })), 'bad_utf8', 'send_message.text');
    }
    parley.encode(sendMessage({ text: '\ud83d\ude00'.repeat(40) }));
  } finally {
    Object.defineProperty(String.prototype, 'isWellFormed', isWellFormed);
  }
  const emoji = 'party \u{1F389} \0 nul';
  const [back] = parley.decode(parley.encode(sendMessage({ text: emoji })));
  assert.equal(back.text, emoji);
});

test('integers must be safe, non-negative and within their field', () => {
  const cases = [
    [{ client_msg_id: -1 }, 'send_message.client_msg_id'],
    [{ client_msg_id: 1.5 }, 'send_message.client_msg_id'],
    [{ client_msg_id: 2 ** 53 }, 'send_message.client_msg_id'],
    [{ client_msg_id: NaN }, 'send_message.client_msg_id'],
    [{ client_msg_id: Infinity }, 'send_message.client_msg_id'],
    [{ client_msg_id: 10n }, 'send_message.client_msg_id'],
    [{ client_msg_id: '42' }, 'send_message.client_msg_id'],
    [{ room_id: 2 ** 32 }, 'send_message.room_id'], // a u32 on the wire
  ];
  for (const [fields, where] of cases) assertFails(() => parley.encode(sendMessage(fields)), 'bad_value', where);
  parley.encode(sendMessage({ client_msg_id: Number.MAX_SAFE_INTEGER, room_id: 2 ** 32 - 1 }));
  assertFails(() => parley.encode({ type: 'request_history', room_id: 1, before_seq: 0, limit: 101 }), 'bad_value', 'limit');
  assertFails(
    () => parley.encode({ type: 'chat_message', room_id: 1, message: record({ my_reactions: 64 }) }),
    'bad_value', 'chat_message.message.my_reactions');
});

test('wrong types, missing fields and unknown names are clear errors', () => {
  assertFails(() => parley.encode(sendMessage({ text: 5 })), 'bad_value', 'send_message.text: expected a string');
  assertFails(() => parley.encode(sendMessage({ resend: 1 })), 'bad_value', 'send_message.resend: expected true or false');
  assertFails(() => parley.encode(sendMessage({ text: undefined })), 'bad_value', 'send_message.text: missing');
  assertFails(() => parley.encode({
    type: 'set_reaction', room_id: 1, client_id: 5, message_seq: 2, reaction: 'love', on: true, resend: false,
  }),
    'bad_value', "unknown name 'love'");
  assertFails(() => parley.encode({ type: 'presence_update', room_id: 1, change: 'joined', users: {} }),
    'bad_value', 'users: expected an array, got an object');
  assertFails(
    () => parley.encode({ type: 'presence_update', room_id: 1, change: 'joined', users: [{ id: 1, name: 'a' }, null] }),
    'bad_value', 'presence_update.users[1]: expected an object');
  assertFails(
    () => parley.encode({
      type: 'history_page', room_id: 1, mode: 'older', has_more: false, messages: [record({ reactions: [{ reaction: 'like' }] })],
    }),
    'bad_value', 'history_page.messages[0].reactions[0].count: missing');
  assertFails(() => parley.encode({ type: 'launch_rockets' }), 'unknown_kind', "'launch_rockets'");
  assertFails(() => parley.encode({ type: 'batch' }), 'unknown_kind');
  assertFails(() => parley.encode({ room_id: 1 }), 'unknown_kind', 'type');
  for (const junk of [null, undefined, 42, 'ping', true, [], () => 1, Symbol('x')]) {
    assert.throws(() => parley.encode(junk), ParleyError);
  }
  assertFails(() => parley.decode('50 01'), 'bad_value', 'Uint8Array');
  assertFails(() => parley.decode([0x50, 1]), 'bad_value', 'Uint8Array');
});

test('lists over their limit are too_many_items, checked before reading them', () => {
  const users = Array.from({ length: parley.limits.max_presence_users + 1 }, (_, i) => ({ id: i, name: 'u' }));
  assertFails(() => parley.encode({ type: 'presence_update', room_id: 1, change: 'snapshot', users }), 'too_many_items', 'users');
  const sparse = [];
  sparse.length = 2 ** 32 - 1;
  assertFails(() => parley.encode({ type: 'presence_update', room_id: 1, change: 'snapshot', users: sparse }), 'too_many_items');
  const pings = Array.from({ length: parley.limits.max_batch_packets + 1 }, (_, i) => ({ type: 'ping', nonce: i }));
  assertFails(() => parley.encodeBatch(pings), 'too_many_items');
});

test('batches: empty is empty_batch, too big is too_large, a bad member names its index', () => {
  assertFails(() => parley.encodeBatch([]), 'empty_batch');
  assertFails(() => parley.encodeBatch('ping'), 'bad_value', 'expected an array');
  assertFails(() => parley.encodeBatch([{ type: 'ping', nonce: 1 }, { type: 'ping' }]), 'bad_value', 'packets[1].ping.nonce: missing');
  // 300 messages of 4000 incompressible bytes: past max_packet_bytes (1 MiB).
  let state = 1;
  const noiseChar = () => String.fromCharCode(33 + ((state = (state * 48271) % 2147483647) % 90));
  const noise = () => Array.from({ length: 4000 }, noiseChar).join('');
  const big = Array.from({ length: 300 }, () => sendMessage({ text: noise() }));
  assertFails(() => parley.encodeBatch(big), 'too_large');
  const [first] = parley.decode(parley.encodeBatch(big.slice(0, 2)));
  assert.deepStrictEqual(first, big[0]);
});

test('input over max_packet_bytes is too_large before it is copied', () => {
  const before = parley.memoryUsage().linear;
  assertFails(() => parley.decode(new Uint8Array(64 * 1024 * 1024)), 'too_large');
  assert.equal(parley.memoryUsage().linear, before);
});

test('extra properties are ignored and encoding does not modify its input', () => {
  const input = Object.freeze(sendMessage({ extra: 'ignored', nested: { deep: [1, 2] } }));
  const bytes = parley.encode(input);
  const [back] = parley.decode(bytes);
  assert.deepStrictEqual(back, sendMessage());
});
