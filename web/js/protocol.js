// The wire protocol, spoken only through the WebAssembly build of protocol/.

import { loadParley, ParleyError } from '/wasm/parley.js';

export { ParleyError };

let loading = null;

/** The loaded protocol module (encode, decode, limits, ...), loaded once. */
export function loadProtocol() {
  loading ??= loadParley();
  return loading;
}

/** Client-to-server kind bytes, as error_report.ref_kind names them (docs/protocol.md, section 8). */
export const KIND = Object.freeze({
  authenticate: 0x01,
  join_room: 0x02,
  leave_room: 0x03,
  send_message: 0x04,
  edit_message: 0x05,
  delete_message: 0x06,
  toggle_reaction: 0x07,
  set_typing: 0x08,
  request_history: 0x09,
  ping: 0x0a,
});

/** Server error codes the client reacts to (docs/protocol.md, section 14.2). */
export const ERR = Object.freeze({
  not_authenticated: 100,
  auth_failed: 101,
  bad_room_name: 102,
  not_in_room: 103,
  no_such_message: 104,
  forbidden: 105,
  rate_limited: 106,
  unexpected_kind: 107,
  empty_text: 108,
  message_deleted: 109,
  server_busy: 110,
  too_many_rooms: 111,
  internal_error: 112,
  shutting_down: 113,
  room_quota: 114,
});

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
