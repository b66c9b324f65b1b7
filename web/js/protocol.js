// The wire protocol, spoken only through the WebAssembly build of protocol/.

import { loadParley, ParleyError } from '/wasm/parley.js';

export { ParleyError };

let loading = null;

/** The loaded protocol module (encode, decode, limits, ...), loaded once. */
export function loadProtocol() {
  loading ??= loadParley();
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

/** Room names the server accepts (1-64 of a-z 0-9 . _ -, case-folded). */
export function normalizeRoomName(name) {
  const n = name.trim().replace(/^#/, '').toLowerCase();
  return /^[a-z0-9._-]{1,64}$/.test(n) ? n : null;
}
