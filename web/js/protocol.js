// The wire protocol, spoken only through the WebAssembly build of protocol/.

import { loadParley, ParleyError } from '/wasm/parley.js';

export { ParleyError };

let loading = null;
let loaded = null;

/** The loaded protocol module (encode, decode, limits, ...), loaded once. */
export function loadProtocol() {
  loading ??= loadParley().then((module) => (loaded = module));
  return loading;
}

// Packet kinds and error codes come from the loaded module (`kinds`,
// `errors`): the wasm build exports the one list protocol/vocabulary.hpp
// keeps, so nothing here repeats it.

/**
 * A new client message id: a uniformly random integer in [1, 2^53), so it is
 * exact in a JavaScript number and, with 53 random bits, unique per user in
 * practice.
 */
export function newClientMsgId() {
  const words = new Uint32Array(2);
  for (;;) {
    crypto.getRandomValues(words);
    const id = (words[0] & 0x1fffff) * 0x100000000 + words[1];
    if (id !== 0) return id;
  }
}

/**
 * A room name as the server will take it, or null for a name it refuses.
 *
 * The rule is the server's `normalize_room_name` (its room registry,
 * `room_registry.cpp`), mirrored exactly because protocol/ and the wasm
 * module do not carry it:
 * 1 to max_room_name_bytes (protocol/limits.hpp, read from the module) of
 * A-Z a-z 0-9 . _ -, the first a letter or a digit, ASCII letters
 * case-folded. Before the check, surrounding blanks and one leading "#" are
 * dropped, as people type them. Call after loadProtocol().
 */
export function normalizeRoomName(name) {
  const n = name.trim().replace(/^#/, '');
  const max = loaded.limits.max_room_name_bytes;
  if (n.length === 0 || n.length > max || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n)) return null;
  return n.toLowerCase();
}

/** A private room's or direct conversation's address: "~" and 22 base32 characters chosen by the server. */
export function isPrivateAddress(address) {
  return typeof address === 'string' && /^~[a-z2-7]{22}$/.test(address);
}

/**
 * What join_room takes, as the server will take it, or null: a private
 * address as it is (the server never lowercases one: it writes them in
 * lowercase), or a public room's name by normalizeRoomName().
 */
export function normalizeAddress(address) {
  const a = address.trim();
  if (a.startsWith('~')) return isPrivateAddress(a) ? a : null;
  return normalizeRoomName(a);
}

/** What the user is told about a name normalizeRoomName() refuses. */
export function roomNameRule() {
  return `Room names are 1–${loaded.limits.max_room_name_bytes} letters, digits, “.”, “_” or “-”, starting with a letter or digit.`;
}
