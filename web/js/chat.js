// The chat model: rooms, messages, presence and the outbox, kept in step
// with the server over one Connection. The UI reads it and listens to it; it
// never touches the DOM.
//
// Events (CustomEvent detail in brackets):
//   rooms        the room list, unread counts or the current room changed
//   messages     {room, kind: replace|append|prepend|update, fromOthers, mine, records}
//   presence     {room}
//   typing       {room}
//   notice       {text, level: info|warn|error}
//   unauthorized the session is gone: sign in again
//
// Recovery after a reconnect or a reload (section "Recovery point" of room.js):
//   1. every joined room is joined again with since_seq = its `stored` seq;
//   2. the server answers room_joined (last_seq, persisted_seq), the presence
//      snapshot and the missed messages (replay) or the newest page (latest);
//   3. messages above room_joined.last_seq were lost by the server: dropped;
//   4. a request_history below since_seq refreshes the messages already on
//      screen (edits, deletions and reactions made while we were away) and
//      fills the view after a reload;
//   5. every outbox entry of the room that is not saved is sent again with its
//      client_msg_id and resend=true, one packet each, in the order written.

import { ERR, KIND, newClientMsgId } from './protocol.js';
import { Room } from './room.js';

const HISTORY_PAGE = 50;
const OLDER_TIMEOUT_MS = 10000;
const TYPING_REFRESH_MS = 3000;      // "typing" is repeated at most this often
const TYPING_IDLE_MS = 5000;         // no keystroke for this long: stopped
const REMOTE_TYPING_MS = 8000;       // safety net if a "stopped" never arrives
const SEND_RATE = 8;                 // messages per second the client paces itself to
const SEND_BURST = 16;
const PREFS_VERSION = 1;

export class Chat extends EventTarget {
  constructor({ protocol, connection, me, outbox }) {
    super();
    this.protocol = protocol;
    this.conn = connection;
    this.me = me;
    this.outbox = outbox;
    this.rooms = new Map();          // name -> Room, in sidebar order
    this.byId = new Map();           // room_id -> Room (current connection)
    this.current = null;
    this.epoch = 0;                  // counts connections; outbox entries remember theirs
    this.savedIds = new Set();       // client ids confirmed saved during this page load
    this.tokens = SEND_BURST;
    this.tokensAt = performance.now();
    this.flushTimers = new Map();
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
    for (const t of this.typingTimers.values()) clearTimeout(t);
    clearTimeout(this.typingIdle);
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // ---- preferences: joined rooms and recovery points survive a reload ----------

  loadPrefs() {
    let prefs = null;
    try {
      prefs = JSON.parse(localStorage.getItem(this.prefsKey) ?? 'null');
    } catch {
      prefs = null;
    }
    const names = Array.isArray(prefs?.rooms) && prefs.rooms.length ? prefs.rooms : ['lobby'];
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

  /** Makes `name` the room in view, joining it first if needed. */
  openRoom(name) {
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
    if (!this.conn.ready || room.joined || room.joiningEpoch === this.epoch) return;
    room.joiningEpoch = this.epoch;
    room.sinceSent = room.stored;
    this.conn.send({ type: 'join_room', room: room.name, since_seq: room.sinceSent });
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
    if (this.epoch === 0 && state === 'connecting') return;
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
    this.epoch++;
    for (const room of this.rooms.values()) room.disconnect();
    this.byId.clear();
    // The room in view first, so it fills first; the joins travel as one batch.
    const order = [...this.rooms.values()].sort((a, b) => (b.name === this.current) - (a.name === this.current));
    const joins = order.map((room) => {
      room.joiningEpoch = this.epoch;
      room.sinceSent = room.stored;
      return { type: 'join_room', room: room.name, since_seq: room.sinceSent };
    });
    for (let i = 0; i < joins.length; i += 32) this.conn.sendBatch(joins.slice(i, i + 32));
  }

  // ---- incoming packets ---------------------------------------------------------------

  handle(p) {
    switch (p.type) {
      case 'welcome': return this.onWelcome(p);
      case 'room_joined': return this.onRoomJoined(p);
      case 'room_left': return this.onRoomLeft(p);
      case 'presence_update': return this.onPresence(p);
      case 'history_page': return this.onHistory(p);
      case 'chat_message': return this.onChatMessage(p);
      case 'message_ack': return this.onAck(p);
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
    room.joiningEpoch = -1;
    room.persistedSeq = p.persisted_seq;
    room.serverLast = p.last_seq;
    this.byId.set(p.room_id, room);

    const lost = room.truncateAbove(p.last_seq);
    if (lost.length) this.forgetLost(room, lost);
    if (room.sinceSent > 0 && room.sinceSent <= p.last_seq) this.refresh(room);
    this.flush(room.name);
    this.emit('rooms');
  }

  /** The server restarted without these messages: mine go back to the outbox queue. */
  forgetLost(room, lost) {
    for (const rec of lost) {
      const entry = rec.author_id === this.me.id ? this.outbox.get(rec.client_msg_id) : null;
      if (entry) {
        entry.state = 'pending';
        entry.seq = 0;
        this.outbox.put(entry);
      }
    }
    this.emit('messages', { room: room.name, kind: 'replace' });
  }

  /** Re-reads the messages below the recovery point (see the file comment, step 4). */
  refresh(room) {
    let below = 0;
    for (const s of room.seqs) if (s <= room.sinceSent) below++;
    const limit = Math.min(this.protocol.limits?.max_history_page ?? 100, Math.max(HISTORY_PAGE, below));
    this.conn.send({ type: 'request_history', room_id: room.id, before_seq: room.sinceSent + 1, limit });
  }

  onRoomLeft(p) {
    const room = this.byId.get(p.room_id);
    this.byId.delete(p.room_id);
    if (room && !this.rooms.has(room.name)) room.disconnect();
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
      kind = 'replace';
    } else if (p.mode === 'replay') {
      const wasEmpty = room.seqs.length === 0;
      for (const m of msgs) room.upsert(m);
      if (wasEmpty && msgs.length) room.hasMore = msgs[0].seq > 1;
      kind = 'append';
    } else {
      kind = this.mergeOlder(room, p);
      if (!kind) return;
    }
    room.loaded = true;
    for (const m of msgs) {
      this.linkOutbox(room, m);
      if (m.seq > room.serverLast) room.serverLast = m.seq;
    }
    if (!this.viewing(room.name)) room.countUnread(this.me.id);
    this.emit('messages', { room: room.name, kind, records: msgs });
    this.emit('rooms');
  }

  /** An `older` page: scroll-back or refresh. Pages that would leave a gap are dropped. */
  mergeOlder(room, p) {
    const msgs = p.messages;
    if (msgs.length === 0) {
      if (room.loadingOlder || room.seqs.length === 0) room.hasMore = false;
      this.doneLoadingOlder(room);
      return 'prepend';
    }
    if (room.seqs.length && msgs[msgs.length - 1].seq < room.oldest - 1) return null;
    const extendsView = room.seqs.length === 0 || msgs[0].seq < room.oldest;
    for (const m of msgs) room.upsert(m);
    if (extendsView) {
      room.hasMore = p.has_more;
      this.doneLoadingOlder(room);
    }
    return extendsView ? 'prepend' : 'update';
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
    if (rec.seq > room.serverLast) room.serverLast = rec.seq;
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
    if (!entry || entry.room !== room.name) return;
    if (entry.state === 'sent' && entry.seq === rec.seq) return;
    entry.state = 'sent';
    entry.seq = rec.seq;
    entry.sent_at = rec.sent_at;
    entry.error = null;
    if (rec.seq <= room.persistedSeq) this.markSaved(entry);
    else this.outbox.put(entry);
  }

  onAck(p) {
    const entry = this.outbox.get(p.client_msg_id);
    const room = this.byId.get(p.room_id);
    if (!entry || !room) return;
    entry.state = 'sent';
    entry.seq = p.seq;
    entry.sent_at = p.sent_at;
    entry.error = null;
    // A duplicate resend is acknowledged without a broadcast: show the message
    // from the entry when the server's copy is not on screen.
    const rec = room.get(p.seq);
    const ours = rec && rec.author_id === this.me.id && rec.client_msg_id === entry.client_msg_id;
    if (!ours && room.seqs.length && p.seq >= room.oldest) {
      room.upsert({
        seq: p.seq, author_id: this.me.id, author: this.me.username, client_msg_id: entry.client_msg_id,
        sent_at: p.sent_at, edited_at: 0, reply_to: entry.reply_to, deleted: false, text: entry.text,
        reactions: [], my_reactions: 0,
      });
    }
    if (p.seq <= room.persistedSeq) this.markSaved(entry);
    else this.outbox.put(entry);
    this.emit('messages', { room: room.name, kind: ours ? 'update' : 'append', mine: true });
  }

  onWatermark(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    room.persistedSeq = Math.max(room.persistedSeq, p.seq);
    room.stored = p.seq;
    this.savePrefsSoon();
    let changed = false;
    for (const entry of this.outbox.forRoom(room.name)) {
      if (entry.state === 'sent' && entry.seq <= p.seq) {
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

  onEdited(p) {
    const room = this.byId.get(p.room_id);
    const rec = room?.get(p.seq);
    if (!rec) return;
    rec.text = p.text;
    rec.edited_at = p.edited_at;
    room.touch(rec);
    this.emit('messages', { room: room.name, kind: 'update', records: [rec] });
  }

  onDeleted(p) {
    const room = this.byId.get(p.room_id);
    const rec = room?.get(p.seq);
    if (!rec) return;
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
    const room = this.byId.get(p.room_id);
    const rec = room?.get(p.seq);
    if (!rec) return;
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
    switch (p.ref_kind) {
      case KIND.send_message: return this.onSendError(p);
      case KIND.request_history: {
        for (const room of this.rooms.values()) if (room.loadingOlder) this.doneLoadingOlder(room);
        if (p.code === ERR.rate_limited) return undefined;
        break;
      }
      case KIND.join_room: return this.onJoinError(p);
      case KIND.set_typing: return undefined;
      default: break;
    }
    switch (p.code) {
      case ERR.not_authenticated:
      case ERR.auth_failed: return this.emit('unauthorized', { reason: p.text });
      case ERR.forbidden: return this.notice('You can only edit or delete your own messages.', 'warn');
      case ERR.message_deleted: return this.notice('That message was deleted.', 'warn');
      case ERR.no_such_message: return this.notice('That message no longer exists.', 'warn');
      case ERR.rate_limited: return this.notice('Slow down a little: too many actions at once.', 'warn');
      case ERR.empty_text: return this.notice('A message cannot be empty.', 'warn');
      case ERR.shutting_down: return this.notice('The server is restarting. Reconnecting…', 'info');
      case ERR.not_in_room: return undefined; // a rejoin is under way
      default: return this.notice(p.text || `The server refused the request (error ${p.code}).`, 'error');
    }
  }

  onSendError(p) {
    const entry = this.outbox.get(p.ref);
    if (!entry) return;
    entry.epoch = null;
    switch (p.code) {
      case ERR.rate_limited:
      case ERR.server_busy:
        entry.notBefore = Date.now() + Math.max(p.retry_after_ms, 250);
        this.scheduleFlush(entry.room, entry.notBefore - Date.now());
        return;
      case ERR.not_in_room:
      case ERR.shutting_down:
        return; // sent again once the room is joined again
      default:
        this.failEntry(entry, p.code, p.code === ERR.no_such_message
          ? 'The message it replied to no longer exists.'
          : p.text || `Refused by the server (error ${p.code}).`);
    }
  }

  failEntry(entry, code, why) {
    entry.state = 'failed';
    entry.errorCode = code;
    entry.error = why;
    this.outbox.put(entry);
    this.emit('messages', { room: entry.room, kind: 'update', mine: true });
  }

  onJoinError(p) {
    const why = p.code === ERR.bad_room_name
      ? 'Room names are 1–64 letters, digits, “.”, “_” or “-”.'
      : p.code === ERR.too_many_rooms ? 'You have joined too many rooms: leave one first.' : p.text;
    this.notice(`Cannot join the room. ${why}`, 'error');
    for (const room of this.rooms.values()) if (!room.joined && room.joiningEpoch === this.epoch) room.joiningEpoch = -1;
  }

  notice(text, level = 'info') {
    this.emit('notice', { text, level });
  }

  // ---- outgoing: messages --------------------------------------------------------------

  /** Queues a new message in the outbox and sends it when the room is joined. */
  sendMessage(roomName, text, replyTo = 0) {
    const entry = {
      client_msg_id: newClientMsgId(), user_id: this.me.id, room: roomName, text, reply_to: replyTo,
      created_at: Date.now(), state: 'pending', seq: 0, sent_at: 0, attempts: 0, error: null,
    };
    if (this.typingRoom === roomName) this.stopTyping();
    this.outbox.put(entry); // durable on return (the outbox's journal): a reload cannot lose it
    this.emit('messages', { room: roomName, kind: 'append', mine: true });
    this.emit('outbox');
    this.flush(roomName);
    return entry;
  }

  retry(clientMsgId) {
    const entry = this.outbox.get(clientMsgId);
    if (!entry) return;
    // A reply whose original is gone is sent again as a plain message.
    if (entry.errorCode === ERR.no_such_message) entry.reply_to = 0;
    entry.state = 'pending';
    entry.error = null;
    entry.errorCode = 0;
    entry.epoch = null;
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

  /**
   * Sends the room's outbox entries not yet sent on this connection, oldest
   * first, paced by a token bucket so a long offline queue does not trip the
   * server's rate limit.
   */
  flush(roomName) {
    const room = this.rooms.get(roomName);
    if (!room?.joined || !this.conn.ready) return;
    for (const e of this.outbox.forRoom(roomName)) {
      if (e.state === 'failed' || e.state === 'saved' || e.epoch === this.epoch) continue;
      const wait = Math.max((e.notBefore ?? 0) - Date.now(), this.takeToken());
      if (wait > 0) return this.scheduleFlush(roomName, wait);
      let sent;
      try {
        sent = this.conn.send({
          type: 'send_message', room_id: room.id, client_msg_id: e.client_msg_id,
          reply_to: e.reply_to, text: e.text, resend: e.attempts > 0 || Boolean(e.fromDisk),
        });
      } catch (err) {
        // The codec refuses it (e.g. an entry written by an older client): it can never be sent.
        this.failEntry(e, 0, `It cannot be encoded: ${err.message}`);
        continue;
      }
      if (!sent) return undefined;
      e.attempts++;
      e.epoch = this.epoch;
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

  /** Takes a send token; returns 0, or the ms to wait for the next one. */
  takeToken() {
    const now = performance.now();
    this.tokens = Math.min(SEND_BURST, this.tokens + ((now - this.tokensAt) / 1000) * SEND_RATE);
    this.tokensAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / SEND_RATE) * 1000);
  }

  /** Outbox entries of a room that have no server copy on screen yet. */
  pendingFor(roomName) {
    const room = this.rooms.get(roomName);
    return this.outbox.forRoom(roomName).filter((e) => {
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
    if (this.savedIds.has(rec.client_msg_id) || rec.seq <= room.persistedSeq || rec.seq <= room.stored) return 'saved';
    return 'sent';
  }

  // ---- outgoing: everything else --------------------------------------------------------

  /** Sends a room request; false (and a notice) when the room is not reachable now. */
  request(roomName, packet) {
    const room = this.rooms.get(roomName);
    if (!room?.joined || !this.conn.ready) {
      this.notice('You are offline. Try again once the connection is back.', 'warn');
      return false;
    }
    try {
      return this.conn.send({ ...packet, room_id: room.id });
    } catch (e) {
      this.notice(`That cannot be sent: ${e.message}`, 'error');
      return false;
    }
  }

  edit(roomName, seq, text) {
    return this.request(roomName, { type: 'edit_message', seq, text });
  }

  remove(roomName, seq) {
    return this.request(roomName, { type: 'delete_message', seq });
  }

  react(roomName, seq, reaction) {
    return this.request(roomName, { type: 'toggle_reaction', seq, reaction });
  }

  /** Asks for the page before the oldest message on screen. @return whether a request went out */
  loadOlder(roomName) {
    const room = this.rooms.get(roomName);
    if (!room?.joined || !this.conn.ready || room.loadingOlder || !room.hasMore || !room.loaded) return false;
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
    if (this.typingRoom !== roomName || now - this.typingSentAt >= TYPING_REFRESH_MS) {
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
