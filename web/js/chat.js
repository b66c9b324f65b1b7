// The chat model: packet dispatch and room state. It keeps the rooms, their
// messages and presence in step with the server over one Connection, and
// hands the rest to one part per job:
//   sender.js    the user's changes: into the outbox, out to the server, paced, retried
//   receipts.js  what the server answered for them: acks, watermarks, each message's status
//   history.js   the latest page of a join and the older pages of scroll-back
//   typing.js    my typing signal and the expiry of others'
//   prefs.js     joined rooms and read positions across reloads
//   pacer.js     the rate limits the server announced, as token buckets
// The UI reads the model and listens to it; it never touches the DOM.
//
// Events (CustomEvent detail in brackets):
//   rooms        the room list, unread counts or the current room changed
//   messages     {room, kind: replace|append|prepend|update, fromOthers, mine, records}
//   older        {room} a request for older messages ended (history.js)
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
//      are pending again: their seq is no longer vouched for (receipts.js);
//   4. every outbox entry of the room that is not saved is sent again with its
//      client id and resend=true, in the order written, paced by the limits
//      the server announced in `welcome` (sender.js).

import { normalizeRoomName, roomNameRule } from './protocol.js';
import { Room } from './room.js';
import { Pacer } from './pacer.js';
import { Prefs } from './prefs.js';
import { Sender } from './sender.js';
import { Receipts } from './receipts.js';
import { History } from './history.js';
import { Typing } from './typing.js';

const JOIN_BATCH = 32;
const DEFAULT_ROOM = 'lobby';

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
    this.joinTimers = new Map();
    this.pacer = new Pacer();
    this.sender = new Sender(this);
    this.receipts = new Receipts(this);
    this.history = new History(this);
    this.typing = new Typing(this);
    this.prefs = new Prefs(me.id, () => this.savedState());
    this.restore(this.prefs.load());

    this.listening = new AbortController();
    const { signal } = this.listening;
    this.conn.addEventListener('packet', (ev) => this.handle(ev.detail), { signal });
    this.conn.addEventListener('state', (ev) => this.onConnectionState(ev.detail.state), { signal });
  }

  /** Stops listening, writes the preferences and clears every timer: nothing of this model runs after it. */
  dispose() {
    this.listening.abort();
    this.prefs.dispose();
    this.sender.dispose();
    this.typing.dispose();
    for (const t of this.joinTimers.values()) clearTimeout(t);
    this.joinTimers.clear();
    for (const room of this.rooms.values()) clearTimeout(room.olderTimer);
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  notice(text, level = 'info') {
    this.emit('notice', { text, level });
  }

  // ---- preferences: joined rooms and read positions survive a reload ------------

  /** Takes the rooms kept by prefs.js; names the server would refuse are dropped. */
  restore(prefs) {
    const kept = Array.isArray(prefs?.rooms) ? prefs.rooms.filter((n) => typeof n === 'string' && normalizeRoomName(n) === n) : [];
    const names = kept.length ? kept : [DEFAULT_ROOM];
    for (const name of names) this.rooms.set(name, new Room(name, prefs?.state?.[name]));
    this.lastRoom = prefs?.current && this.rooms.has(prefs.current) ? prefs.current : names[0];
  }

  savedState() {
    const state = {};
    for (const [name, room] of this.rooms) state[name] = room.saved();
    return { rooms: [...this.rooms.keys()], current: this.current, state };
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
    this.prefs.saveSoon();
    this.emit('rooms');
    return room;
  }

  /** Leaves a room and forgets it, including its unsent messages. */
  leaveRoom(name) {
    const room = this.rooms.get(name);
    if (!room) return;
    if (room.joined) this.conn.send({ type: 'leave_room', room_id: room.id });
    this.typing.stopIn(name);
    this.sender.forgetRoom(name);
    this.byId.delete(room.id);
    this.rooms.delete(name);
    if (this.current === name) this.current = null;
    this.prefs.save();
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

  joinLater(room, ms) {
    clearTimeout(this.joinTimers.get(room.name));
    this.joinTimers.set(room.name, setTimeout(() => {
      this.joinTimers.delete(room.name);
      if (this.rooms.get(room.name) === room) this.join(room);
    }, ms));
  }

  /** Everything read in the room in view. */
  markRead(name) {
    const room = this.rooms.get(name);
    if (!room) return;
    const changed = room.unread !== 0 || room.lastRead < room.newest;
    room.lastRead = Math.max(room.lastRead, room.newest);
    room.unread = 0;
    if (changed) {
      this.prefs.saveSoon();
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
    this.disconnectRooms();
    this.typing.forget();
    for (const room of this.rooms.values()) this.emit('typing', { room: room.name });
  }

  /** Forgets what belonged to the last connection; requests in flight end with it. */
  disconnectRooms() {
    for (const room of this.rooms.values()) {
      this.history.done(room);
      room.disconnect();
    }
    this.byId.clear();
  }

  onWelcome(p) {
    if (p.user_id !== this.me.id) {
      // Another account signed in from another tab of this browser.
      this.emit('unauthorized', { reason: 'account changed' });
      return;
    }
    this.generation++;
    this.pacer.configure(p.rate_limits);
    this.disconnectRooms();
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
      case 'history_page': return this.history.onPage(p);
      case 'chat_message': return this.onChatMessage(p);
      case 'ack': return this.receipts.onAck(p);
      case 'persisted_watermark': return this.receipts.onWatermark(p);
      case 'message_edited': return this.onEdited(p);
      case 'message_deleted': return this.onDeleted(p);
      case 'reaction_update': return this.onReaction(p);
      case 'typing_update': return this.typing.onUpdate(p);
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
    this.receipts.onJoined(room, p.epoch);
    this.sender.flush(room.name);
    this.emit('rooms');
  }

  /** The server cannot vouch for what this view holds above base_seq. */
  onRoomReset(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    const before = room.epoch;
    const dropped = room.resetAbove(p.base_seq, p.epoch);
    this.receipts.onReset(room, before, p);
    if (dropped.length) this.emit('messages', { room: room.name, kind: 'replace' });
    this.emit('outbox');
    this.sender.flush(room.name);
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

  onChatMessage(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    const rec = p.message;
    const isNew = room.upsert(rec) === 'new';
    room.applied(rec.seq);
    this.receipts.linkOutbox(room, rec);
    const mine = rec.author_id === this.me.id;
    if (!mine && room.typing.delete(rec.author_id)) this.emit('typing', { room: room.name });
    if (!mine && !this.viewing(room.name)) room.countUnread(this.me.id);
    this.emit('messages', { room: room.name, kind: 'append', fromOthers: isNew && !mine ? 1 : 0, mine, records: [rec] });
    if (!mine) this.emit('rooms');
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

  // ---- refusals -------------------------------------------------------------------------

  onError(p) {
    const K = this.kind;
    const E = this.err;
    switch (p.ref_kind) {
      case K.send_message:
      case K.edit_message:
      case K.delete_message:
      case K.set_reaction: return this.sender.onRefused(p);
      case K.request_history: {
        this.history.onRefused();
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
}
