// The chat model: rooms, messages, presence and the outbox, kept in step
// with the server over one Connection. The UI reads it and listens to it; it
// never touches the DOM.
//
// Events (CustomEvent detail in brackets):
//   rooms        the room list, unread counts or the current room changed
//   messages     {room, kind: replace|append|prepend|update, fromOthers, mine, records}
//   presence     {room}
//   typing       {room}
//   outbox       an outbox entry was added, saved or removed
//   notice       {text, level: info|warn|error}
//   unauthorized the session is gone: sign in again
//
// Recovery after a reconnect or a reload (room.js, "Position"):
//   1. every joined room is joined again with its position (epoch, lastSeq),
//      or (0, 0) when its view is not in memory;
//   2. the server answers room_joined, room_reset when it cannot vouch for
//      what the view holds above some seq, the presence snapshot, and either
//      the missed events (replayed as the live packets) or a `latest` page;
//   3. outbox entries acknowledged in another epoch, or above a reset's base,
//      are pending again: their seq is no longer vouched for;
//   4. every outbox entry of the room that is not saved is sent again with its
//      client id and resend=true, in the order written, paced by the limits
//      the server announced in `welcome`.

import { newClientMsgId, normalizeRoomName, roomNameRule } from './protocol.js';
import { isMessage } from './outbox.js';
import { Room } from './room.js';

const HISTORY_PAGE = 50;
const OLDER_TIMEOUT_MS = 10000;
const TYPING_REFRESH_MS = 3000;      // "typing" is repeated at most this often
const TYPING_IDLE_MS = 5000;         // no keystroke for this long: stopped
const REMOTE_TYPING_MS = 8000;       // safety net if a "stopped" never arrives
const PREFS_VERSION = 1;
const JOIN_BATCH = 32;

/**
 * Token buckets for the limits the server announces in `welcome`, so the
 * client paces itself instead of learning the limits from refusals. Until a
 * welcome arrives (or for kinds it does not name) nothing is paced.
 */
class Pacer {
  constructor() {
    this.byKind = new Map(); // kind byte -> bucket
  }

  /** @param limits welcome.rate_limits: [{kinds, per_minute, burst}] */
  configure(limits) {
    const now = performance.now();
    this.byKind.clear();
    for (const l of limits ?? []) {
      if (!(l.per_minute > 0) || !(l.burst > 0)) continue;
      const bucket = { rate: l.per_minute / 60000, burst: l.burst, tokens: l.burst, at: now };
      for (const k of l.kinds) this.byKind.set(k, bucket);
    }
  }

  /** Takes a token for a packet kind; returns 0, or the ms to wait for one. */
  take(kind) {
    const b = this.byKind.get(kind);
    if (!b) return 0;
    const now = performance.now();
    b.tokens = Math.min(b.burst, b.tokens + (now - b.at) * b.rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / b.rate);
  }
}

export class Chat extends EventTarget {
  constructor({ protocol, connection, me, outbox }) {
    super();
    this.protocol = protocol;
    this.kind = protocol.kinds;      // packet kind bytes by name (the wasm module's vocabulary)
    this.err = protocol.errors;      // error codes by name
    this.conn = connection;
    this.me = me;
    this.outbox = outbox;
    this.rooms = new Map();          // name -> Room, in sidebar order
    this.byId = new Map();           // room_id -> Room (current connection)
    this.current = null;
    this.generation = 0;             // counts connections; outbox entries remember theirs (`sentOn`)
    this.savedIds = new Set();       // client ids confirmed saved during this page load
    this.pacer = new Pacer();
    this.flushTimers = new Map();
    this.joinTimers = new Map();
    this.typingRoom = null;
    this.typingSentAt = 0;
    this.typingIdle = 0;
    this.typingTimers = new Map();
    this.prefsKey = `parley:v${PREFS_VERSION}:user:${me.id}`;
    this.prefsTimer = 0;
    this.loadPrefs();

    this.onPacket = (ev) => this.handle(ev.detail);
    this.onState = (ev) => this.onConnectionState(ev.detail.state);
    this.conn.addEventListener('packet', this.onPacket);
    this.conn.addEventListener('state', this.onState);
  }

  dispose() {
    this.conn.removeEventListener('packet', this.onPacket);
    this.conn.removeEventListener('state', this.onState);
    this.savePrefs();
    for (const t of this.flushTimers.values()) clearTimeout(t);
    for (const t of this.joinTimers.values()) clearTimeout(t);
    for (const t of this.typingTimers.values()) clearTimeout(t);
    clearTimeout(this.typingIdle);
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // ---- preferences: joined rooms and read positions survive a reload ------------

  loadPrefs() {
    let prefs = null;
    try {
      prefs = JSON.parse(localStorage.getItem(this.prefsKey) ?? 'null');
    } catch {
      prefs = null;
    }
    // Names the server would refuse (kept by an older client) are dropped.
    const kept = Array.isArray(prefs?.rooms) ? prefs.rooms.filter((n) => typeof n === 'string' && normalizeRoomName(n) === n) : [];
    const names = kept.length ? kept : ['lobby'];
    for (const name of names) this.rooms.set(name, new Room(name, prefs?.state?.[name]));
    this.lastRoom = prefs?.current && this.rooms.has(prefs.current) ? prefs.current : names[0];
  }

  savePrefs() {
    clearTimeout(this.prefsTimer);
    this.prefsTimer = 0;
    const state = {};
    for (const [name, room] of this.rooms) state[name] = room.saved();
    try {
      localStorage.setItem(this.prefsKey, JSON.stringify({ rooms: [...this.rooms.keys()], current: this.current, state }));
    } catch (e) {
      console.warn('parley: cannot save preferences', e);
    }
  }

  savePrefsSoon() {
    if (!this.prefsTimer) this.prefsTimer = setTimeout(() => this.savePrefs(), 400);
  }

  // ---- rooms ------------------------------------------------------------------------

  /**
   * Makes `name` the room in view, joining it first if needed.
   * @return the Room, or null for a name the server would refuse (nothing is sent)
   */
  openRoom(name) {
    if (normalizeRoomName(name) !== name) {
      this.notice(`Cannot join the room. ${roomNameRule()}`, 'error');
      return null;
    }
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name);
      this.rooms.set(name, room);
    }
    this.current = name;
    this.join(room);
    this.savePrefsSoon();
    this.emit('rooms');
    return room;
  }

  /** Leaves a room and forgets it, including its unsent messages. */
  leaveRoom(name) {
    const room = this.rooms.get(name);
    if (!room) return;
    if (room.joined) this.conn.send({ type: 'leave_room', room_id: room.id });
    if (this.typingRoom === name) this.stopTyping();
    for (const e of this.outbox.forRoom(name)) this.outbox.remove(e.client_msg_id);
    this.byId.delete(room.id);
    this.rooms.delete(name);
    if (this.current === name) this.current = null;
    this.savePrefs();
    this.emit('rooms');
  }

  join(room) {
    if (!this.conn.ready || room.joined || room.joiningOn === this.generation) return;
    room.joiningOn = this.generation;
    this.conn.send(this.joinPacket(room));
  }

  joinPacket(room) {
    return { type: 'join_room', room: room.name, ...room.position };
  }

  /** Everything read in the room in view. */
  markRead(name) {
    const room = this.rooms.get(name);
    if (!room) return;
    const changed = room.unread !== 0 || room.lastRead < room.newest;
    room.lastRead = Math.max(room.lastRead, room.newest);
    room.unread = 0;
    if (changed) {
      this.savePrefsSoon();
      this.emit('rooms');
    }
  }

  /** Whether the user is looking at the room now (a hidden tab is not looking). */
  viewing(name) {
    return name === this.current && document.visibilityState === 'visible';
  }

  get totalUnread() {
    let n = 0;
    for (const room of this.rooms.values()) n += room.unread;
    return n;
  }

  // ---- connection ---------------------------------------------------------------------

  onConnectionState(state) {
    if (state === 'ready') return;
    if (this.generation === 0 && state === 'connecting') return;
    // The connection is gone: every room must be joined again on the next one.
    for (const room of this.rooms.values()) room.disconnect();
    this.byId.clear();
    this.typingRoom = null;
    for (const room of this.rooms.values()) this.emit('typing', { room: room.name });
  }

  onWelcome(p) {
    if (p.user_id !== this.me.id) {
      // Another account signed in from another tab of this browser.
      this.emit('unauthorized', { reason: 'account changed' });
      return;
    }
    this.generation++;
    this.pacer.configure(p.rate_limits);
    for (const room of this.rooms.values()) room.disconnect();
    this.byId.clear();
    // The room in view first, so it fills first; the joins travel as batches.
    const order = [...this.rooms.values()].sort((a, b) => (b.name === this.current) - (a.name === this.current));
    const joins = order.map((room) => {
      room.joiningOn = this.generation;
      return this.joinPacket(room);
    });
    for (let i = 0; i < joins.length; i += JOIN_BATCH) this.conn.sendBatch(joins.slice(i, i + JOIN_BATCH));
  }

  // ---- incoming packets ---------------------------------------------------------------

  handle(p) {
    switch (p.type) {
      case 'welcome': return this.onWelcome(p);
      case 'room_joined': return this.onRoomJoined(p);
      case 'room_reset': return this.onRoomReset(p);
      case 'room_left': return this.onRoomLeft(p);
      case 'presence_update': return this.onPresence(p);
      case 'history_page': return this.onHistory(p);
      case 'chat_message': return this.onChatMessage(p);
      case 'ack': return this.onAck(p);
      case 'persisted_watermark': return this.onWatermark(p);
      case 'message_edited': return this.onEdited(p);
      case 'message_deleted': return this.onDeleted(p);
      case 'reaction_update': return this.onReaction(p);
      case 'typing_update': return this.onTyping(p);
      case 'error_report': return this.onError(p);
      default: return undefined;
    }
  }

  onRoomJoined(p) {
    const room = this.rooms.get(p.room);
    if (!room) {
      // Left while the join was in flight.
      this.conn.send({ type: 'leave_room', room_id: p.room_id });
      return;
    }
    room.id = p.room_id;
    room.joined = true;
    room.joiningOn = -1;
    room.persistedSeq = p.persisted_seq;
    // A position at or below what the epoch shares with the old one is the
    // same in both (otherwise room_reset follows): it carries over.
    room.epoch = p.epoch;
    this.byId.set(p.room_id, room);
    // Acknowledgements from another epoch are not vouched for: send those
    // entries again (a duplicate is acknowledged with its original seq).
    this.repend(room, (e) => e.seq > 0 && e.ack_epoch !== p.epoch);
    // A rejoin on the same connection (the server left the room) sends again
    // what was sent before it and not answered.
    for (const e of this.outbox.forRoom(room.name)) if (e.state === 'pending') e.sentOn = null;
    this.flush(room.name);
    this.emit('rooms');
  }

  /** The server cannot vouch for what this view holds above base_seq. */
  onRoomReset(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    const before = room.epoch;
    const dropped = room.resetAbove(p.base_seq, p.epoch);
    this.repend(room, (e) => e.seq > p.base_seq);
    // At or below the base the old epoch and the new one are the same: those
    // acknowledgements still hold, and the new epoch's watermark saves them.
    for (const e of this.outbox.forRoom(room.name)) {
      if (e.seq > 0 && e.ack_epoch === before) {
        e.ack_epoch = p.epoch;
        this.outbox.put(e);
      }
    }
    // Changes aimed at a message that is gone with the reset: mine come back
    // with a new seq (their target_cid finds it); others' are lost.
    for (const e of this.outbox.forRoom(room.name)) {
      if (isMessage(e) || e.message_seq <= p.base_seq) continue;
      if (e.target_cid && this.outbox.get(e.target_cid)) {
        e.message_seq = 0;
        this.outbox.put(e);
      } else {
        this.dropChange(e, 'A change to a message lost in a server restart was not saved.');
      }
    }
    if (dropped.length) this.emit('messages', { room: room.name, kind: 'replace' });
    this.emit('outbox');
    this.flush(room.name);
  }

  /** Makes the matching outbox entries of a room pending again (their seq is not vouched for). */
  repend(room, which) {
    for (const e of this.outbox.forRoom(room.name)) {
      if (e.state === 'failed' || !which(e)) continue;
      e.state = 'pending';
      e.seq = 0;
      e.ack_epoch = 0;
      e.sentOn = null;
      this.outbox.put(e);
    }
  }

  /** The answer to leave_room, or the server ending the membership: then join again. */
  onRoomLeft(p) {
    const room = this.byId.get(p.room_id);
    this.byId.delete(p.room_id);
    if (!room) return;
    room.disconnect();
    if (this.rooms.get(room.name) === room) this.joinLater(room, 500);
  }

  onPresence(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    if (p.change === 'snapshot') room.online = new Map();
    for (const u of p.users) {
      if (p.change === 'left') {
        room.online.delete(u.id);
        room.typing.delete(u.id);
      } else {
        room.online.set(u.id, u.name);
      }
    }
    this.emit('presence', { room: room.name });
    if (p.change === 'left') this.emit('typing', { room: room.name });
  }

  onHistory(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    const msgs = p.messages;
    let kind;
    if (p.mode === 'latest') {
      room.replace(msgs);
      room.hasMore = p.has_more;
      this.doneLoadingOlder(room);
      kind = 'replace';
    } else {
      kind = this.mergeOlder(room, p);
      if (!kind) return;
    }
    for (const m of msgs) this.linkOutbox(room, m);
    if (!this.viewing(room.name)) room.countUnread(this.me.id);
    this.emit('messages', { room: room.name, kind, records: msgs });
    this.emit('rooms');
  }

  /** An `older` page (scroll-back). Pages that would leave a gap are dropped. */
  mergeOlder(room, p) {
    const msgs = p.messages;
    if (msgs.length === 0) {
      room.hasMore = false;
      this.doneLoadingOlder(room);
      return 'prepend';
    }
    if (!room.loaded || (room.seqs.length && msgs[msgs.length - 1].seq < room.oldest - 1)) return null;
    // Messages the view already has are newer there (events changed them since).
    const older = msgs.filter((m) => room.seqs.length === 0 || m.seq < room.oldest);
    for (const m of older) room.upsert(m);
    room.hasMore = p.has_more;
    this.doneLoadingOlder(room);
    return 'prepend';
  }

  doneLoadingOlder(room) {
    room.loadingOlder = false;
    clearTimeout(room.olderTimer);
  }

  onChatMessage(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    const rec = p.message;
    const isNew = room.upsert(rec) === 'new';
    room.applied(rec.seq);
    this.linkOutbox(room, rec);
    const mine = rec.author_id === this.me.id;
    if (!mine && room.typing.delete(rec.author_id)) this.emit('typing', { room: room.name });
    if (!mine && !this.viewing(room.name)) room.countUnread(this.me.id);
    this.emit('messages', { room: room.name, kind: 'append', fromOthers: isNew && !mine ? 1 : 0, mine, records: [rec] });
    if (!mine) this.emit('rooms');
  }

  /** Connects a record of mine to its outbox entry: it now has a seq. */
  linkOutbox(room, rec) {
    if (rec.author_id !== this.me.id) return;
    const entry = this.outbox.get(rec.client_msg_id);
    if (!entry || entry.room !== room.name || !isMessage(entry)) return;
    if (entry.state === 'sent' && entry.seq === rec.seq && entry.ack_epoch === room.epoch) return;
    this.acknowledged(room, entry, rec.seq, rec.sent_at);
  }

  onAck(p) {
    const entry = this.outbox.get(p.client_id);
    const room = this.byId.get(p.room_id);
    if (!entry || !room || entry.room !== room.name) return;
    if (p.seq === 0) {
      // It changed nothing (already so): nothing to wait for.
      this.markSaved(entry);
      this.emit('messages', { room: room.name, kind: 'update', mine: true });
      return;
    }
    this.acknowledged(room, entry, p.seq, p.at);
    if (isMessage(entry)) this.showAcknowledged(room, entry);
    this.emit('messages', { room: room.name, kind: 'update', mine: true });
  }

  /** The server gave an entry its seq in the room's current epoch. */
  acknowledged(room, entry, seq, at) {
    entry.state = 'sent';
    entry.seq = seq;
    entry.ack_epoch = room.epoch;
    entry.error = null;
    if (isMessage(entry)) {
      entry.sent_at = at;
      this.retarget(room, entry);
    }
    if (seq <= room.persistedSeq) this.markSaved(entry);
    else this.outbox.put(entry);
  }

  /** Changes waiting for one of my messages to get its (new) seq can go now. */
  retarget(room, message) {
    let waiting = false;
    for (const e of this.outbox.forRoom(room.name)) {
      if (e.target_cid !== message.client_msg_id || isMessage(e) || e.message_seq === message.seq) continue;
      e.message_seq = message.seq;
      this.outbox.put(e);
      waiting = true;
    }
    if (waiting) this.flush(room.name);
  }

  /**
   * A duplicate resend is acknowledged without a broadcast: show the message
   * from the entry when the server's copy is not on screen.
   */
  showAcknowledged(room, entry) {
    const rec = room.get(entry.seq);
    const ours = rec && rec.author_id === this.me.id && rec.client_msg_id === entry.client_msg_id;
    if (ours || !room.seqs.length || entry.seq < room.oldest) return;
    room.upsert({
      seq: entry.seq, author_id: this.me.id, author: this.me.username, client_msg_id: entry.client_msg_id,
      sent_at: entry.sent_at, edited_at: 0, reply_to: entry.reply_to, deleted: false, text: entry.text,
      reactions: [], my_reactions: 0,
    });
  }

  onWatermark(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    room.persistedSeq = Math.max(room.persistedSeq, p.seq);
    let changed = false;
    for (const entry of this.outbox.forRoom(room.name)) {
      if (entry.state === 'sent' && entry.ack_epoch === room.epoch && entry.seq <= p.seq) {
        this.markSaved(entry);
        changed = true;
      }
    }
    if (changed) this.emit('messages', { room: room.name, kind: 'update' });
  }

  markSaved(entry) {
    entry.state = 'saved';
    this.savedIds.add(entry.client_msg_id);
    this.outbox.remove(entry.client_msg_id);
    this.emit('outbox');
  }

  /** A change of a message not in view (before the page on screen) changes nothing here. */
  changed(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return null;
    room.applied(p.seq);
    const rec = room.get(p.message_seq);
    return rec ? { room, rec } : null;
  }

  onEdited(p) {
    const hit = this.changed(p);
    if (!hit) return;
    const { room, rec } = hit;
    rec.text = p.text;
    rec.edited_at = p.edited_at;
    room.touch(rec);
    this.emit('messages', { room: room.name, kind: 'update', records: [rec] });
  }

  onDeleted(p) {
    const hit = this.changed(p);
    if (!hit) return;
    const { room, rec } = hit;
    rec.deleted = true;
    rec.text = '';
    rec.reactions = [];
    rec.my_reactions = 0;
    room.touch(rec);
    if (!this.viewing(room.name)) room.countUnread(this.me.id);
    this.emit('messages', { room: room.name, kind: 'update', records: [rec] });
    this.emit('rooms');
  }

  onReaction(p) {
    const hit = this.changed(p);
    if (!hit) return;
    const { room, rec } = hit;
    const order = this.protocol.reactions;
    const list = rec.reactions.filter((r) => r.reaction !== p.reaction);
    if (p.count > 0) list.push({ reaction: p.reaction, count: p.count });
    list.sort((a, b) => order.indexOf(a.reaction) - order.indexOf(b.reaction));
    rec.reactions = list;
    if (p.user_id === this.me.id) {
      const bit = 1 << order.indexOf(p.reaction);
      rec.my_reactions = p.added ? rec.my_reactions | bit : rec.my_reactions & ~bit;
    }
    room.touch(rec);
    this.emit('messages', { room: room.name, kind: 'update', records: [rec], reaction: p });
  }

  onTyping(p) {
    const room = this.byId.get(p.room_id);
    if (!room || p.user.id === this.me.id) return;
    if (p.active) room.typing.set(p.user.id, { name: p.user.name, until: Date.now() + REMOTE_TYPING_MS });
    else room.typing.delete(p.user.id);
    this.scheduleTypingExpiry(room);
    this.emit('typing', { room: room.name });
  }

  scheduleTypingExpiry(room) {
    clearTimeout(this.typingTimers.get(room.name));
    if (room.typing.size === 0) return;
    const next = Math.min(...[...room.typing.values()].map((t) => t.until));
    this.typingTimers.set(room.name, setTimeout(() => {
      room.typingNames();
      this.scheduleTypingExpiry(room);
      this.emit('typing', { room: room.name });
    }, Math.max(50, next - Date.now() + 20)));
  }

  onError(p) {
    const K = this.kind;
    const E = this.err;
    switch (p.ref_kind) {
      case K.send_message:
      case K.edit_message:
      case K.delete_message:
      case K.set_reaction: return this.onChangeError(p);
      case K.request_history: {
        for (const room of this.rooms.values()) if (room.loadingOlder) this.doneLoadingOlder(room);
        if (p.code === E.rate_limited || p.code === E.room_unavailable) return undefined;
        break;
      }
      case K.join_room: return this.onJoinError(p);
      case K.set_typing: return undefined;
      default: break;
    }
    switch (p.code) {
      case E.not_authenticated:
      case E.auth_failed: return this.emit('unauthorized', { reason: p.text });
      case E.rate_limited: return this.notice('Slow down a little: too many actions at once.', 'warn');
      case E.shutting_down: return this.notice('The server is restarting. Reconnecting…', 'info');
      case E.not_in_room: return undefined; // a rejoin is under way
      default: return this.notice(p.text || `The server refused the request (error ${p.code}).`, 'error');
    }
  }

  /** A refused outbox entry: wait and send again, or give up on it for good. */
  onChangeError(p) {
    const E = this.err;
    const entry = this.outbox.get(p.ref);
    if (!entry) return;
    entry.sentOn = null;
    switch (p.code) {
      case E.rate_limited:
      case E.server_busy:
      case E.room_unavailable:
        entry.notBefore = Date.now() + Math.max(p.retry_after_ms, 250);
        this.scheduleFlush(entry.room, entry.notBefore - Date.now());
        return;
      case E.not_in_room:
      case E.shutting_down:
        return; // sent again once the room is joined again
      default:
        break;
    }
    if (!isMessage(entry)) {
      const why = {
        [E.forbidden]: 'You can only edit or delete your own messages.',
        [E.message_deleted]: 'That message was deleted.',
        [E.no_such_message]: 'That message no longer exists.',
        [E.empty_text]: 'A message cannot be empty.',
      }[p.code] ?? (p.text || `The server refused the change (error ${p.code}).`);
      this.dropChange(entry, why);
      return;
    }
    this.failEntry(entry, p.code, p.code === E.no_such_message
      ? 'The message it replied to no longer exists.'
      : p.text || `Refused by the server (error ${p.code}).`);
  }

  /** A change that cannot be applied: it leaves the outbox and the user is told. */
  dropChange(entry, why) {
    this.outbox.remove(entry.client_msg_id);
    this.notice(`${why} Your change was not saved.`, 'warn');
    this.emit('messages', { room: entry.room, kind: 'update', mine: true });
    this.emit('outbox');
  }

  failEntry(entry, code, why) {
    entry.state = 'failed';
    entry.errorCode = code;
    entry.error = why;
    this.outbox.put(entry);
    this.emit('messages', { room: entry.room, kind: 'update', mine: true });
  }

  onJoinError(p) {
    const E = this.err;
    const waiting = [...this.rooms.values()].filter((r) => !r.joined && r.joiningOn === this.generation);
    for (const room of waiting) room.joiningOn = -1;
    if (p.code === E.room_unavailable) {
      // The room could not be loaded (its storage failed): try again later.
      for (const room of waiting) this.joinLater(room, Math.max(p.retry_after_ms, 500));
      return;
    }
    const why = p.code === E.bad_room_name
      ? roomNameRule()
      : p.code === E.too_many_rooms ? 'You have joined too many rooms: leave one first.' : p.text;
    this.notice(`Cannot join the room. ${why}`, 'error');
  }

  joinLater(room, ms) {
    clearTimeout(this.joinTimers.get(room.name));
    this.joinTimers.set(room.name, setTimeout(() => {
      this.joinTimers.delete(room.name);
      if (this.rooms.get(room.name) === room) this.join(room);
    }, ms));
  }

  notice(text, level = 'info') {
    this.emit('notice', { text, level });
  }

  // ---- outgoing: the outbox ------------------------------------------------------------

  /** Queues a new message in the outbox and sends it when the room is joined. */
  sendMessage(roomName, text, replyTo = 0) {
    if (this.typingRoom === roomName) this.stopTyping();
    return this.enqueue(roomName, { kind: 'message', text, reply_to: replyTo });
  }

  /** Replaces the text of one of my messages. */
  edit(roomName, seq, text) {
    return this.change(roomName, seq, { kind: 'edit', text });
  }

  remove(roomName, seq) {
    return this.change(roomName, seq, { kind: 'delete' });
  }

  /** Puts my reaction on a message or takes it off, whichever it is not now. */
  react(roomName, seq, reaction) {
    const on = !this.reactedNow(roomName, seq, reaction);
    return this.change(roomName, seq, { kind: 'reaction', reaction, on });
  }

  /** Whether my reaction is on a message, counting changes still in the outbox. */
  reactedNow(roomName, seq, reaction) {
    const rec = this.rooms.get(roomName)?.get(seq);
    let on = Boolean(rec && rec.my_reactions & (1 << this.protocol.reactions.indexOf(reaction)));
    for (const e of this.outbox.forRoom(roomName)) {
      if (e.kind === 'reaction' && e.message_seq === seq && e.reaction === reaction) on = e.on;
    }
    return on;
  }

  change(roomName, seq, fields) {
    const rec = this.rooms.get(roomName)?.get(seq);
    const mine = rec && rec.author_id === this.me.id ? this.outbox.get(rec.client_msg_id) : null;
    return this.enqueue(roomName, { ...fields, message_seq: seq, target_cid: mine ? mine.client_msg_id : 0 });
  }

  /** Writes an entry to the outbox (durable on return) and sends it when it can. */
  enqueue(roomName, fields) {
    const entry = {
      client_msg_id: newClientMsgId(), user_id: this.me.id, room: roomName, text: '', reply_to: 0,
      message_seq: 0, target_cid: 0, reaction: '', on: false, ...fields,
      created_at: Date.now(), state: 'pending', seq: 0, ack_epoch: 0, sent_at: 0, attempts: 0, error: null,
    };
    this.outbox.put(entry); // durable on return (the outbox's journal): a reload cannot lose it
    this.emit('messages', { room: roomName, kind: isMessage(entry) ? 'append' : 'update', mine: true });
    this.emit('outbox');
    this.flush(roomName);
    return entry;
  }

  retry(clientMsgId) {
    const entry = this.outbox.get(clientMsgId);
    if (!entry) return;
    // A reply whose original is gone is sent again as a plain message.
    if (entry.errorCode === this.err.no_such_message) entry.reply_to = 0;
    entry.state = 'pending';
    entry.error = null;
    entry.errorCode = 0;
    entry.sentOn = null;
    entry.notBefore = 0;
    this.outbox.put(entry);
    this.flush(entry.room);
    this.emit('messages', { room: entry.room, kind: 'update', mine: true });
  }

  discard(clientMsgId) {
    const entry = this.outbox.get(clientMsgId);
    if (!entry) return;
    this.outbox.remove(clientMsgId);
    this.emit('messages', { room: entry.room, kind: 'update', mine: true });
    this.emit('outbox');
  }

  /** The packet that carries an outbox entry. */
  packetFor(room, e) {
    const resend = e.attempts > 0 || Boolean(e.fromDisk);
    const base = { room_id: room.id, client_id: e.client_msg_id, message_seq: e.message_seq, resend };
    switch (e.kind ?? 'message') {
      case 'message':
        return { type: 'send_message', room_id: room.id, client_msg_id: e.client_msg_id, reply_to: e.reply_to, text: e.text, resend };
      case 'edit': return { type: 'edit_message', ...base, text: e.text };
      case 'delete': return { type: 'delete_message', ...base };
      case 'reaction': return { type: 'set_reaction', ...base, reaction: e.reaction, on: e.on };
      default: return null;
    }
  }

  /**
   * Sends the room's outbox entries not yet sent on this connection, oldest
   * first, paced by the server's announced limits so a long offline queue
   * does not trip them. A change waiting for its target's seq waits.
   */
  flush(roomName) {
    const room = this.rooms.get(roomName);
    if (!room?.joined || !this.conn.ready) return;
    for (const e of this.outbox.forRoom(roomName)) {
      if (e.state === 'failed' || e.state === 'saved' || e.sentOn === this.generation) continue;
      if (!isMessage(e) && e.message_seq === 0) continue;
      const packet = this.packetFor(room, e);
      if (!packet) {
        this.failEntry(e, 0, 'This browser wrote it in a form it can no longer send.');
        continue;
      }
      const wait = Math.max((e.notBefore ?? 0) - Date.now(), this.pacer.take(this.kind[packet.type]));
      if (wait > 0) return this.scheduleFlush(roomName, wait);
      let sent;
      try {
        sent = this.conn.send(packet);
      } catch (err) {
        // The codec refuses it (e.g. an entry written by an older client): it can never be sent.
        this.failEntry(e, 0, `It cannot be encoded: ${err.message}`);
        continue;
      }
      if (!sent) return undefined;
      e.attempts++;
      e.sentOn = this.generation;
    }
    return undefined;
  }

  scheduleFlush(roomName, ms) {
    if (this.flushTimers.has(roomName)) return;
    this.flushTimers.set(roomName, setTimeout(() => {
      this.flushTimers.delete(roomName);
      this.flush(roomName);
    }, ms));
  }

  /** Outbox messages of a room that have no server copy on screen yet. */
  pendingFor(roomName) {
    const room = this.rooms.get(roomName);
    return this.outbox.messagesOf(roomName).filter((e) => {
      if (!e.seq || !room) return true;
      const rec = room.get(e.seq);
      return !(rec && rec.client_msg_id === e.client_msg_id && rec.author_id === this.me.id);
    });
  }

  /** pending, sent, saved or failed for one of my messages; null for others' messages. */
  statusOf(room, rec) {
    if (rec.author_id !== this.me.id) return null;
    const entry = this.outbox.get(rec.client_msg_id);
    if (entry) return entry.state;
    if (this.savedIds.has(rec.client_msg_id) || rec.seq <= room.persistedSeq) return 'saved';
    return 'sent';
  }

  /**
   * My unsaved changes to a message: {state: pending|sent, text} (text: the
   * newest pending edit), or null when none is in the outbox.
   */
  changesOf(room, rec) {
    let state = null;
    let text = null;
    for (const e of this.outbox.forRoom(room.name)) {
      if (isMessage(e) || e.message_seq !== rec.seq) continue;
      if (e.state === 'pending' || state === null) state = e.state;
      if (e.kind === 'edit') text = e.text;
    }
    return state ? { state, text } : null;
  }

  // ---- outgoing: everything else --------------------------------------------------------

  /** Asks for the page before the oldest message on screen. @return whether a request went out */
  loadOlder(roomName) {
    const room = this.rooms.get(roomName);
    if (!room?.joined || !this.conn.ready || room.loadingOlder || !room.hasMore || !room.loaded) return false;
    if (this.pacer.take(this.kind.request_history) > 0) return false; // the next scroll asks again
    room.loadingOlder = true;
    room.olderTimer = setTimeout(() => {
      room.loadingOlder = false;
      this.emit('messages', { room: room.name, kind: 'update' });
    }, OLDER_TIMEOUT_MS);
    return this.conn.send({ type: 'request_history', room_id: room.id, before_seq: room.oldest, limit: HISTORY_PAGE });
  }

  /** Call on every edit of the composer; sends "typing" at most every few seconds. */
  typing(roomName, hasText) {
    if (!hasText) return this.stopTyping();
    if (this.typingRoom && this.typingRoom !== roomName) this.stopTyping();
    const room = this.rooms.get(roomName);
    if (!room?.joined || !this.conn.ready) return undefined;
    const now = Date.now();
    const due = this.typingRoom !== roomName || now - this.typingSentAt >= TYPING_REFRESH_MS;
    if (due && this.pacer.take(this.kind.set_typing) === 0) {
      this.conn.send({ type: 'set_typing', room_id: room.id, active: true });
      this.typingRoom = roomName;
      this.typingSentAt = now;
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
    return undefined;
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    const name = this.typingRoom;
    this.typingRoom = null;
    this.typingSentAt = 0;
    const room = name && this.rooms.get(name);
    if (room?.joined && this.conn.ready) this.conn.send({ type: 'set_typing', room_id: room.id, active: false });
  }
}
