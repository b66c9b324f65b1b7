// The chat model: packet dispatch and room state. It keeps the user's rooms,
// their messages, people and presence in step with the server over one
// Connection, and hands the rest to one part per job:
//   sender.js    the user's changes: into the outbox, out to the server, paced, retried
//   receipts.js  what the server answered for them: acks, watermarks, each message's status
//   history.js   the latest page of a join and the older pages of scroll-back
//   typing.js    my typing signal and the expiry of others'
//   prefs.js     the room list, read positions and seen room events across reloads
//   pacer.js     the rate limits the server announced, as token buckets
// The UI reads the model and listens to it; it never touches the DOM.
//
// Rooms are keyed by address (a public room's name, or "~..." for private
// rooms and direct conversations), which is also what the URL names. The
// user's rooms are the server's: the room list (room_list) arrives after
// `welcome` and changes live, as the user (in any tab) or others change it;
// every room in it is joined on the connection, and so is the room in view,
// which the user may not belong to yet (a public room's first join makes
// them a member) or may not be allowed to see (its join is refused with
// no_such_room, and nothing of it is shown). A room whose address changes
// (its kind changed) is moved to the new one, its outbox entries with it.
//
// Events (CustomEvent detail in brackets):
//   rooms        the room list, invitations, unread counts or the current room changed
//   room         {room} a room's settings or people changed
//   messages     {room, kind: replace|append|prepend|update, fromOthers, mine, records}
//   older        {room} a request for older messages ended (history.js)
//   presence     {room}
//   typing       {room}
//   renamed      {from, to} a room's address changed
//   invited      {entry} an invitation arrived (a room_entry)
//   removed      {room, reason, by, wasCurrent, unsent} the user is no longer in a room
//                (reason: left, kicked, banned, deleted, or gone: while away)
//   outbox       an outbox entry was added, saved or removed
//   notice       {text, level: info|warn|error}
//   unauthorized the session is gone: sign in again
//
// Recovery after a reconnect or a reload (room.js, "Position"):
//   1. every room is joined again with its position (epoch, lastSeq), or
//      (0, 0) when its view is not in memory;
//   2. the server answers room_joined, room_reset when it cannot vouch for
//      what the view holds above some seq, the member list, the presence
//      snapshot, and either the missed events (replayed as the live packets)
//      or a `latest` page;
//   3. outbox entries acknowledged in another epoch, or above a reset's base,
//      are pending again: their seq is no longer vouched for (receipts.js);
//   4. every outbox entry of the room that is not saved is sent again with its
//      client id and resend=true, in the order written, paced by the limits
//      the server announced in `welcome` (sender.js).

import { isPrivateAddress, newClientMsgId, normalizeAddress, roomNameRule } from './protocol.js';
import { Room } from './room.js';
import { Pacer } from './pacer.js';
import { Prefs } from './prefs.js';
import { Sender } from './sender.js';
import { Receipts } from './receipts.js';
import { History } from './history.js';
import { Typing } from './typing.js';

const JOIN_BATCH = 32;
const DEFAULT_ROOM = 'lobby';
const OPEN_TIMEOUT_MS = 15000;       // a create_room or open_direct unanswered this long has failed
const SETTINGS_ACTIONS = new Set(['title_set', 'topic_set', 'kind_set', 'role_set', 'ownership_given', 'muted', 'unmuted', 'joined']);

/** A request the server (or the client, before sending it) refused: `code` is the protocol's error name, or offline. */
export class ChatError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
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
    this.rooms = new Map();          // address -> Room: the user's rooms and the one in view
    this.byId = new Map();           // room_id -> Room (current connection)
    this.invites = new Map();        // room_id -> room_entry of a pending invitation
    this.current = null;
    this.generation = 0;             // counts connections; outbox entries remember theirs (`sentOn`)
    this.maxRooms = 64;              // welcome.max_rooms
    this.opening = [];               // create_room and open_direct waiting for their room: {clientId, resolve, reject, timer}
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
    this.failOpenings('Signed out.');
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

  // ---- preferences: the room list, read positions and seen events survive a reload ----

  /** Takes the rooms kept by prefs.js; addresses the server would refuse are dropped. */
  restore(prefs) {
    const kept = Array.isArray(prefs?.rooms) ? prefs.rooms.filter((n) => typeof n === 'string' && normalizeAddress(n) === n) : [];
    const names = kept.length ? kept : [DEFAULT_ROOM];
    for (const name of names) this.rooms.set(name, new Room(name, prefs?.state?.[name]));
    // A browser that kept no rooms starts in the default room, if the user has none.
    if (!kept.length) this.rooms.get(DEFAULT_ROOM).fallback = true;
    for (const e of Array.isArray(prefs?.invites) ? prefs.invites : []) {
      if (Number.isSafeInteger(e?.room_id) && isPrivateAddress(e.address)) this.invites.set(e.room_id, e);
    }
    this.lastRoom = prefs?.current && this.rooms.has(prefs.current) ? prefs.current : names[0];
  }

  savedState() {
    const state = {};
    const rooms = [];
    for (const [name, room] of this.rooms) {
      if (room.denied || !(room.member || name === this.current)) continue;
      rooms.push(name);
      state[name] = room.saved();
    }
    const current = rooms.includes(this.current) ? this.current : null;
    return { rooms, current, state, invites: [...this.invites.values()] };
  }

  // ---- rooms ------------------------------------------------------------------------

  /**
   * Makes room `address` the room in view, joining it first if needed.
   * @return the Room, or null for an address the server would refuse (nothing is sent)
   */
  openRoom(address) {
    if (address.startsWith('~') && !isPrivateAddress(address)) return this.openNowhere(address);
    if (normalizeAddress(address) !== address) {
      this.notice(`Cannot join the room. ${roomNameRule()}`, 'error');
      return null;
    }
    const before = this.current ? this.rooms.get(this.current) : null;
    let room = this.rooms.get(address);
    if (!room) {
      room = new Room(address);
      const invite = [...this.invites.values()].find((e) => e.address === address);
      if (invite) room.settle(invite);
      this.rooms.set(address, room);
    }
    room.denied = false; // asked again: the server says again
    this.current = address;
    if (before && before !== room && !before.member && !before.joined) this.forget(before);
    this.join(room);
    this.prefs.saveSoon();
    this.emit('rooms');
    return room;
  }

  /**
   * A "~" address no room can have: shown as refused, as the server would
   * answer it, without asking.
   */
  openNowhere(address) {
    let room = this.rooms.get(address);
    if (!room) {
      room = new Room(address);
      this.rooms.set(address, room);
    }
    room.denied = true;
    const before = this.current ? this.rooms.get(this.current) : null;
    this.current = address;
    if (before && before !== room && !before.member && !before.joined) this.forget(before);
    this.emit('rooms');
    return room;
  }

  /**
   * Leaves a room for good (manage_room `left`, through the outbox), and
   * discards its unsent changes. It leaves the list at once; the server's
   * room_left ends it.
   */
  leaveRoom(address) {
    const room = this.rooms.get(address);
    if (!room) return;
    this.typing.stopIn(address);
    this.sender.forgetRoom(address);
    if (this.current === address) this.current = null;
    if (room.member && !room.denied) {
      room.leaving = true;
      this.sender.manage(address, { action: 'left' });
      this.join(room); // a room not joined on this connection is joined so that the request can go
    } else {
      this.forget(room);
    }
    this.prefs.save();
    this.emit('rooms');
  }

  /** A refused `left`: the room is listed again. */
  leaveRefused(address) {
    const room = this.rooms.get(address);
    if (room?.leaving) {
      room.leaving = false;
      this.emit('rooms');
    }
  }

  /** Whether the room is shown in the room list: mine, or the public room in view that I am joining. */
  visible(room) {
    if (room.denied || room.leaving || this.sender.leaving(room.name)) return false;
    return room.member || (room.name === this.current && !isPrivateAddress(room.name));
  }

  /** The rooms of the room list, in its order: rooms, then direct conversations, each by name. */
  listedRooms() {
    const me = this.me.id;
    const byLabel = (a, b) => a.label(me).localeCompare(b.label(me), undefined, { sensitivity: 'base' }) || a.name.localeCompare(b.name);
    const shown = [...this.rooms.values()].filter((r) => this.visible(r));
    return [
      ...shown.filter((r) => r.kind !== 'direct').sort(byLabel),
      ...shown.filter((r) => r.kind === 'direct').sort(byLabel),
    ];
  }

  join(room) {
    if (!this.conn.ready || room.joined || room.joiningOn === this.generation || room.denied) return;
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

  /** Joins every room not joined yet, the room in view first, as many as one connection may hold. */
  joinAll() {
    if (!this.conn.ready) return;
    const busy = [...this.rooms.values()].filter((r) => r.joined || r.joiningOn === this.generation).length;
    const order = [...this.rooms.values()]
      .filter((r) => !r.joined && r.joiningOn !== this.generation && !r.denied)
      .sort((a, b) => (b.name === this.current) - (a.name === this.current));
    const joins = order.slice(0, Math.max(0, this.maxRooms - busy)).map((room) => {
      room.joiningOn = this.generation;
      return this.joinPacket(room);
    });
    for (let i = 0; i < joins.length; i += JOIN_BATCH) this.conn.sendBatch(joins.slice(i, i + JOIN_BATCH));
  }

  /** Forgets a room here: its view, its unsent changes, its join. */
  forget(room) {
    const name = room.name;
    if (this.rooms.get(name) !== room) return;
    if (room.joined) this.conn.send({ type: 'leave_room', room_id: room.id });
    this.typing.stopIn(name);
    this.sender.forgetRoom(name);
    clearTimeout(this.joinTimers.get(name));
    this.joinTimers.delete(name);
    this.history.done(room);
    this.byId.delete(room.id);
    this.rooms.delete(name);
    if (this.current === name) this.current = null;
    this.prefs.saveSoon();
  }

  /** The user is no longer in the room (room_left, or a room list without it): it goes, and the views are told why. */
  removeRoom(room, reason) {
    if (this.rooms.get(room.name) !== room) return;
    const unsent = this.outbox.messagesOf(room.name).length;
    const wasCurrent = this.current === room.name;
    const leaving = Boolean(room.leaving);
    this.forget(room);
    this.emit('rooms');
    this.emit('removed', { room, reason, by: room.removedBy?.name ?? '', wasCurrent, unsent, leaving });
  }

  /** Moves a room to its new address (its kind changed): the map, the outbox, the room in view. */
  rename(room, to) {
    const from = room.name;
    if (from === to || this.rooms.get(from) !== room) return room;
    const stale = this.rooms.get(to);
    if (stale) this.forget(stale);
    this.rooms = new Map([...this.rooms].map(([k, v]) => (k === from ? [to, v] : [k, v])));
    room.name = to;
    for (const e of this.outbox.forRoom(from)) {
      e.room = to;
      this.outbox.put(e);
    }
    this.sender.renamed(from, to);
    this.typing.renamed(from, to);
    clearTimeout(this.joinTimers.get(from));
    this.joinTimers.delete(from);
    if (this.current === from) this.current = to;
    this.prefs.saveSoon();
    this.emit('renamed', { from, to });
    return room;
  }

  /** The room a room_id names in the room list, wherever it is now. */
  findListed(roomId) {
    for (const room of this.rooms.values()) if (room.listId === roomId) return room;
    return null;
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
    for (const room of this.rooms.values()) if (this.visible(room)) n += room.unread;
    return n;
  }

  // ---- creating rooms, direct conversations, invitations -------------------------------

  /** Creates a room ('public' or 'private') and joins it. @return Promise<Room>, rejected with a ChatError */
  createRoom(name, kind) {
    return this.request({ type: 'create_room', client_id: newClientMsgId(), name, room_type: kind });
  }

  /**
   * Opens the direct conversation of me and `userIds` (creating it on
   * first use) and joins it. @return Promise<Room>, rejected with a ChatError
   */
  openDirect(userIds) {
    const want = [...new Set(userIds)].filter((id) => id !== this.me.id).sort((a, b) => a - b);
    const same = (room) => {
      const ids = room.directPeople(this.me.id).map((u) => u.id).sort((a, b) => a - b);
      return ids.length === want.length && ids.every((id, i) => id === want[i]);
    };
    const known = [...this.rooms.values()].find((r) => r.kind === 'direct' && r.member && !r.leaving && same(r));
    if (known) return Promise.resolve(known);
    return this.request({ type: 'open_direct', client_id: newClientMsgId(), user_ids: want });
  }

  /** Sends a create_room or open_direct; its room_joined (or error_report) settles the promise. */
  request(packet) {
    if (!this.conn.ready) return Promise.reject(new ChatError('offline', 'You are offline. Try again once the connection is back.'));
    const wait = this.pacer.take(this.kind[packet.type]);
    if (wait > 0) return Promise.reject(new ChatError('rate_limited', `Too many new rooms at once. Try again in ${Math.ceil(wait / 1000)} s.`));
    return new Promise((resolve, reject) => {
      const pending = { clientId: packet.client_id, resolve, reject, timer: 0 };
      pending.timer = setTimeout(() => this.settleOpening(pending, new ChatError('timeout', 'The server did not answer. Try again.')), OPEN_TIMEOUT_MS);
      this.opening.push(pending);
      if (!this.conn.send(packet)) this.settleOpening(pending, new ChatError('offline', 'You are offline. Try again once the connection is back.'));
    });
  }

  /** Ends a create_room or open_direct: with its room, or an error. */
  settleOpening(pending, result) {
    const i = this.opening.indexOf(pending);
    if (i < 0) return;
    this.opening.splice(i, 1);
    clearTimeout(pending.timer);
    if (result instanceof Error) pending.reject(result);
    else pending.resolve(result);
    // Rooms the room list announced while requests were open are joined now.
    if (this.opening.length === 0) this.joinAll();
  }

  failOpenings(why) {
    for (const pending of [...this.opening]) this.settleOpening(pending, new ChatError('offline', why));
  }

  /** Accepts an invitation: its room is joined, which makes me a member. */
  acceptInvite(roomId) {
    const entry = this.invites.get(roomId);
    return entry ? this.openRoom(entry.address) : null;
  }

  declineInvite(roomId) {
    const entry = this.invites.get(roomId);
    if (!entry) return;
    if (!this.conn.ready || !this.conn.send({ type: 'decline_invite', room_id: roomId })) {
      this.notice('You are offline. Try again once the connection is back.', 'warn');
      return;
    }
    entry.declining = true;
    this.emit('rooms');
  }

  // ---- connection ---------------------------------------------------------------------

  onConnectionState(state) {
    if (state === 'ready') return;
    if (this.generation === 0 && state === 'connecting') return;
    // The connection is gone: every room must be joined again on the next one.
    this.disconnectRooms();
    this.failOpenings('The connection was lost. Try again once it is back.');
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
    this.maxRooms = p.max_rooms || this.maxRooms;
    this.pacer.configure(p.rate_limits);
    this.disconnectRooms();
    // The room in view at once; the others when the room list says which they are.
    const current = this.current && this.rooms.get(this.current);
    if (current) this.join(current);
  }

  // ---- incoming packets ---------------------------------------------------------------

  /** Packets of kinds this client does not handle are ignored. */
  handle(p) {
    switch (p.type) {
      case 'welcome': return this.onWelcome(p);
      case 'room_list': return this.onRoomList(p);
      case 'room_joined': return this.onRoomJoined(p);
      case 'room_reset': return this.onRoomReset(p);
      case 'room_left': return this.onRoomLeft(p);
      case 'room_members': return this.onRoomMembers(p);
      case 'room_event': return this.onRoomEvent(p);
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

  /**
   * The user's rooms and invitations: the full list after welcome, then
   * changes. Rooms no longer listed go (they left, or were removed, while
   * this tab was away), except the room in view, whose join decides.
   */
  onRoomList(p) {
    if (p.change === 'snapshot') {
      this.invites.clear();
      const listed = new Set();
      for (const e of p.rooms) {
        const room = this.takeEntry(e);
        if (room) listed.add(room);
      }
      // A list that fills a packet continues in `joined` packets: nothing is dropped on its account.
      if (p.rooms.length < this.protocol.limits.max_room_list) {
        for (const room of [...this.rooms.values()]) {
          if (listed.has(room)) continue;
          if (room.name === this.current || (room.fallback && p.rooms.length === 0)) {
            room.member = false; // its join decides
            continue;
          }
          if (room.member) this.removeRoom(room, 'gone');
          else this.forget(room);
        }
      }
      this.joinAll();
    } else if (p.change === 'joined') {
      for (const e of p.rooms) {
        if (e.invited && !this.invites.has(e.room_id)) this.emit('invited', { entry: e });
        const room = this.takeEntry(e);
        // While a create_room or open_direct is open, its room may be this
        // one: it is joined once the request has its answer.
        if (room && this.opening.length === 0) this.join(room);
      }
    } else {
      for (const e of p.rooms) this.dropEntry(e.room_id);
    }
    this.prefs.saveSoon();
    this.emit('rooms');
  }

  /** One entry of the room list: an invitation, or a room of mine (found, moved, or new). */
  takeEntry(e) {
    if (e.invited) {
      this.invites.set(e.room_id, e);
      return null;
    }
    this.invites.delete(e.room_id);
    let room = this.rooms.get(e.address);
    const moved = this.findListed(e.room_id);
    if (!room && moved) room = this.rename(moved, e.address);
    if (!room) {
      room = new Room(e.address);
      this.rooms.set(e.address, room);
    }
    room.listId = e.room_id;
    room.member = true;
    room.denied = false;
    room.settle(e);
    return room;
  }

  /** A room left the room list. A joined one waits for its room_left, which says why. */
  dropEntry(roomId) {
    this.invites.delete(roomId);
    const room = this.findListed(roomId) ?? this.byId.get(roomId);
    if (!room) return;
    room.member = false;
    if (room.joined || room.joiningOn === this.generation) return;
    if (room.name !== this.current) this.removeRoom(room, 'gone');
  }

  onRoomJoined(p) {
    let room = this.rooms.get(p.room) ?? this.findListed(p.room_id);
    if (room && room.name !== p.room) room = this.rename(room, p.room);
    // A room this connection did not ask to join is the answer to the oldest
    // create_room or open_direct.
    const opened = this.opening.length && (!room || room.joiningOn !== this.generation) ? this.opening[0] : null;
    if (!room) {
      if (!opened) {
        // Left while the join was in flight.
        this.conn.send({ type: 'leave_room', room_id: p.room_id });
        return;
      }
      room = new Room(p.room);
      this.rooms.set(p.room, room);
    }
    room.id = p.room_id;
    room.listId = p.room_id;
    room.joined = true;
    room.joiningOn = -1;
    room.denied = false;
    room.awaitingMembers = true;
    room.persistedSeq = p.persisted_seq;
    // A position at or below what the epoch shares with the old one is the
    // same in both (otherwise room_reset follows): it carries over.
    room.epoch = p.epoch;
    room.settle(p);
    room.joinedEpoch(p.epoch, p.last_seq);
    room.markStored(p.epoch, p.persisted_seq);
    this.byId.set(p.room_id, room);
    this.receipts.onJoined(room, p.epoch);
    this.sender.flush(room.name);
    if (opened) this.settleOpening(opened, room);
    this.emit('rooms');
    this.emit('room', { room: room.name });
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
    // A reset on its own may have undone room events too: the room's people
    // and settings come again with a join (one right after room_joined is
    // followed by its member list anyway).
    if (!room.awaitingMembers) {
      room.joiningOn = this.generation;
      this.conn.send(this.joinPacket(room));
    }
  }

  /**
   * This connection no longer receives the room: the answer to leave_room,
   * a room the server cannot serve now (join again), or the end of the
   * user's membership (left, kicked, banned, deleted): the room goes.
   */
  onRoomLeft(p) {
    const room = this.byId.get(p.room_id);
    this.byId.delete(p.room_id);
    if (!room) return;
    room.disconnect();
    if (p.reason === 'requested' || p.reason === 'unavailable') {
      if (this.rooms.get(room.name) === room) this.joinLater(room, 500);
      return;
    }
    room.member = false;
    this.removeRoom(room, p.reason);
  }

  onRoomMembers(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    room.applyMembers(p.change, p.members, p.total);
    room.awaitingMembers = false;
    this.emit('room', { room: room.name });
  }

  /** A change of the room's membership or settings: an event, shown in the timeline. */
  onRoomEvent(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    room.applied(p.seq);
    const isNew = room.addEvent(p, room.epoch);
    room.applyEvent(p, this.me.id);
    const mine = p.target.id === this.me.id;
    if ((mine && (p.action === 'kicked' || p.action === 'banned')) || p.action === 'deleted') room.removedBy = p.actor;
    if (p.action === 'kind_set' && p.text) this.rename(room, p.text);
    this.prefs.saveSoon();
    this.emit('messages', { room: room.name, kind: 'append', events: isNew ? 1 : 0 });
    this.emit('room', { room: room.name });
    if (SETTINGS_ACTIONS.has(p.action)) this.emit('rooms');
  }

  onPresence(p) {
    const room = this.byId.get(p.room_id);
    if (!room) return;
    if (p.change === 'snapshot') room.online = new Map();
    room.onlineCount = p.online; // a large room's lists name only some of those online
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
    rec.deleted_by = p.by;
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
      case K.set_reaction:
      case K.manage_room: return this.sender.onRefused(p);
      case K.request_history: {
        this.history.onRefused();
        if (p.code === E.rate_limited || p.code === E.room_unavailable) return undefined;
        break;
      }
      case K.join_room: return this.onJoinError(p);
      case K.create_room:
      case K.open_direct: return this.onOpenError(p);
      case K.decline_invite: {
        if (p.code !== E.no_such_room) break;
        this.invites.delete(p.ref);
        this.emit('rooms');
        return undefined;
      }
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

  /**
   * A join was refused. A join's error names no room, so it is taken to be
   * about the joins of rooms that are not mine (a room I belong to is
   * expected to open). No such room and no access are the same answer, and
   * nothing else is said about such a room.
   */
  onJoinError(p) {
    const E = this.err;
    const waiting = [...this.rooms.values()].filter((r) => !r.joined && r.joiningOn === this.generation);
    if (p.code === E.no_such_room || p.code === E.not_allowed) {
      const strangers = waiting.filter((r) => !r.member);
      const refused = strangers.length ? strangers : waiting.length === 1 ? waiting : [];
      for (const room of refused) {
        room.joiningOn = -1;
        room.denied = true;
        room.loaded = false;
        this.emit('messages', { room: room.name, kind: 'replace' });
        this.emit('room', { room: room.name });
      }
      this.emit('rooms');
      return;
    }
    for (const room of waiting) room.joiningOn = -1;
    if (p.code === E.room_unavailable || p.code === E.rate_limited) {
      // The room could not be loaded (its storage failed), or creating it must wait: try again later.
      for (const room of waiting) this.joinLater(room, Math.max(p.retry_after_ms, 500));
      if (p.code === E.room_unavailable) return;
    }
    const why = p.code === E.bad_room_name
      ? roomNameRule()
      : p.code === E.too_many_rooms ? 'You have joined too many rooms: leave one first.' : p.text;
    this.notice(`Cannot join the room. ${why}`, 'error');
  }

  /** A create_room or open_direct was refused: its promise says why. */
  onOpenError(p) {
    const E = this.err;
    const pending = this.opening.find((o) => o.clientId === p.ref) ?? this.opening[0];
    if (!pending) return;
    const why = {
      [E.bad_room_name]: p.ref_kind === this.kind.create_room ? roomNameRule() : p.text,
      [E.room_name_taken]: 'A room with that name exists already.',
      [E.room_quota]: `You have started as many ${p.ref_kind === this.kind.open_direct ? 'conversations' : 'rooms'} as this hour allows. Try again in ${Math.max(1, Math.ceil(p.retry_after_ms / 60000))} min.`,
      [E.no_such_user]: 'One of those people does not exist.',
      [E.too_many_rooms]: 'You have joined too many rooms: leave one first.',
      [E.rate_limited]: 'Too many new rooms at once. Try again in a minute.',
    }[p.code] ?? (p.text || `The server refused it (error ${p.code}).`);
    const name = this.protocol.errorNames?.[p.code] ?? String(p.code);
    this.settleOpening(pending, new ChatError(name, why));
  }
}
