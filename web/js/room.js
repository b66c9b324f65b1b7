// What the client knows about one room: its messages (by seq), its settings
// and people, who is online and typing, and the position that makes recovery
// exact.
//
// Messages are keyed by seq, so a message that arrives twice (as a replay and
// as a live broadcast, or as an ack echo after a resend) is stored once: an
// upsert replaces the record, it never adds a second one.
//
// Position (docs/protocol.md, "Epochs"). Every change in a room (a message,
// an edit, a deletion, a reaction, a change of its membership or settings)
// is an event with the next seq of the room's current epoch, so the seqs of
// messages have gaps. The client holds (epoch, lastSeq): the newest event it
// applied, in the epoch it applied it in. It rejoins with that position and
// the server replays exactly the events after it, or, when it can no longer
// vouch for part of what the client holds (a crash lost events that were
// broadcast but never stored), sends room_reset: drop everything above
// base_seq, take the new epoch, and a `latest` page follows. A view that is
// not in memory (a reload) joins with (0, 0) and gets the latest page.
//
// Room events (room_event: joined, invited, kicked, a new topic...) change
// the room's people and settings and are kept by seq for the timeline's
// system lines. Pages carry only messages, so the events this browser saw
// are kept across reloads (saved() and prefs.js) and shown again once
// room_joined vouches for them: those a watermark of their epoch covered
// (stored events outlive every later epoch), and the others only in the
// epoch they were seen in.

import { isPrivateAddress } from './protocol.js';

const KEPT_EVENTS = 60;          // room events kept across a reload, per room

export class Room {
  constructor(name, saved = {}) {
    this.name = name;            // the room's address: a public room's name, or "~..." (private, direct)
    this.id = 0;                 // room_id on the current connection; 0 = not joined
    this.joined = false;
    this.messages = new Map();   // seq -> message_record (+ `_v`, a render version)
    this.seqs = [];              // ascending
    this.hasMore = false;        // older messages exist before seqs[0]
    this.loaded = false;         // the view holds the room as of (epoch, lastSeq)
    this.loadingOlder = false;
    this.olderBefore = 0;        // before_seq of the request for older messages in flight
    this.olderTimer = 0;
    this.lastRead = saved.lastRead ?? 0;
    this.epoch = 0;              // the epoch of lastSeq; 0 = none
    this.lastSeq = 0;            // newest event applied to this view
    this.persistedSeq = 0;       // watermark on the current connection
    this.online = new Map();     // user id -> name (in a large room, some of those online)
    this.onlineCount = 0;        // how many are online, as the server last said
    this.typing = new Map();     // user id -> {name, until}
    this.unread = 0;

    // What the server says of the room (room_list, room_joined, room_event).
    const secret = isPrivateAddress(name);
    this.listId = saved.listId ?? 0;                         // its room_id in the user's room list
    this.kind = saved.kind ?? (secret ? 'private' : 'public');
    this.title = saved.title ?? (secret ? '' : name);
    this.topic = saved.topic ?? '';
    this.role = saved.role ?? 'member';                      // the user's role in it
    this.muted = Boolean(saved.muted);
    this.people = Array.isArray(saved.people) ? saved.people : [];  // a direct conversation's people
    this.member = Boolean(saved.member);                     // listed in the user's room list
    this.denied = false;         // its join was refused (no such room, or no access): nothing of it is shown
    this.members = new Map();    // user id -> {id, name, state, role, muted}, from room_members and room_event
    this.membersTotal = 0;       // people the room's whole list holds (a large room's snapshot names only some)
    this.events = new Map();     // seq -> room event record, for the timeline
    this.eventSeqs = [];         // ascending
    this.cachedEvents = Array.isArray(saved.events) ? saved.events : [];  // saved by the last page load, not vouched for yet
  }

  get oldest() {
    return this.seqs.length ? this.seqs[0] : 0;
  }

  get newest() {
    return this.seqs.length ? this.seqs[this.seqs.length - 1] : 0;
  }

  /** The position to join with: where this view is, or (0, 0) for none. */
  get position() {
    return this.loaded ? { epoch: this.epoch, since_seq: this.lastSeq } : { epoch: 0, since_seq: 0 };
  }

  /** An event of this room was applied (live or replayed). */
  applied(seq) {
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  get(seq) {
    return this.messages.get(seq);
  }

  /** Inserts or replaces a record. @return 'new' or 'updated' */
  upsert(rec) {
    const old = this.messages.get(rec.seq);
    rec._v = (old?._v ?? 0) + 1;
    this.messages.set(rec.seq, rec);
    if (old) return 'updated';
    insertSorted(this.seqs, rec.seq);
    return 'new';
  }

  /** Marks a record changed after an in-place update. */
  touch(rec) {
    rec._v = (rec._v ?? 0) + 1;
  }

  /**
   * Replaces every message with a `latest` page. The page is the room as of
   * some seq the wire does not name (the events after it follow it), so the
   * position claimed is its newest message: a replay from there repeats only
   * events the page already shows, and every event packet sets a state.
   * Room events are not in pages: the ones held stay.
   */
  replace(records) {
    this.messages.clear();
    this.seqs = [];
    for (const r of records) this.upsert(r);
    this.lastSeq = this.newest;
    this.loaded = true;
  }

  /** Forgets what the server cannot vouch for (room_reset). @return the dropped records */
  resetAbove(seq, epoch) {
    const dropped = [];
    while (this.seqs.length && this.newest > seq) {
      const s = this.seqs.pop();
      dropped.push(this.messages.get(s));
      this.messages.delete(s);
    }
    while (this.eventSeqs.length && this.eventSeqs[this.eventSeqs.length - 1] > seq) {
      this.events.delete(this.eventSeqs.pop());
    }
    for (const ev of this.events.values()) ev.epoch = epoch;
    this.lastSeq = Math.min(this.lastSeq, seq);
    this.lastRead = Math.min(this.lastRead, seq);
    this.epoch = epoch;
    return dropped;
  }

  // ---- settings, people and room events -------------------------------------------

  /** Takes the room's settings and the user's standing from a room_list entry or room_joined. */
  settle({ title, topic, room_type: kind, role, muted, people }) {
    if (kind !== undefined) this.kind = kind;
    if (title !== undefined) this.title = title;
    if (topic !== undefined) this.topic = topic;
    if (role !== undefined) this.role = role;
    if (muted !== undefined) this.muted = muted;
    if (people?.length) this.people = people.map((u) => ({ id: u.id, name: u.name }));
  }

  /** The name people see: a public room's name, a private room's title, a direct conversation's other people. */
  label(myId) {
    if (this.kind === 'direct') {
      const others = this.directPeople(myId).map((u) => u.name);
      return others.length ? others.join(', ') : 'Direct conversation';
    }
    if (this.kind === 'private') return this.title || 'Private room';
    return this.name;
  }

  /** A direct conversation's people other than me, by name. */
  directPeople(myId) {
    const people = this.people.length ? this.people : [...this.members.values()].filter((m) => m.state === 'member');
    return people.filter((u) => u.id !== myId).map((u) => ({ id: u.id, name: u.name }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** room_members: the snapshot replaces the list, `joined` adds to it, `left` removes. */
  applyMembers(change, entries, total) {
    if (change === 'snapshot') this.members = new Map();
    this.membersTotal = total;
    for (const m of entries) {
      if (change === 'left') this.members.delete(m.user.id);
      else this.members.set(m.user.id, { id: m.user.id, name: m.user.name, state: m.state, role: m.role, muted: m.muted });
    }
  }

  /**
   * Records a room_event for the timeline (live or replayed, in `epoch`),
   * before applyEvent(): `invitee` says whether a `kicked` withdrew an
   * invitation. @return whether it is new here
   */
  addEvent(p, epoch) {
    const isNew = !this.events.has(p.seq);
    const invitee = isNew ? this.members.get(p.target.id)?.state === 'invited' : this.events.get(p.seq).invitee;
    this.events.set(p.seq, {
      seq: p.seq, epoch, stored: p.seq <= this.persistedSeq && epoch === this.epoch, at: p.at,
      actor: { id: p.actor.id, name: p.actor.name }, action: p.action,
      target: { id: p.target.id, name: p.target.name }, role: p.role, room_type: p.room_type, text: p.text, invitee,
    });
    if (isNew) insertSorted(this.eventSeqs, p.seq);
    return isNew;
  }

  /**
   * What a room_event changes in the room's people and settings (docs/protocol.md 10.16).
   * Each sets a state, so applying one twice changes nothing.
   */
  applyEvent(p, myId) {
    const target = p.target;
    const row = () => this.members.get(target.id) ?? { id: target.id, name: target.name, state: 'member', role: 'member', muted: false };
    const put = (fields) => this.members.set(target.id, { ...row(), name: target.name || row().name, ...fields });
    // The total follows the events; someone the list does not name is counted by guess.
    const known = this.members.has(target.id);
    if (['joined', 'invited', 'banned'].includes(p.action) && !known) this.membersTotal++;
    if (['left', 'kicked', 'declined', 'unbanned'].includes(p.action)) this.membersTotal = Math.max(0, this.membersTotal - 1);
    switch (p.action) {
      case 'joined': put({ state: 'member', role: p.role, muted: false }); break;
      case 'invited': put({ state: 'invited', role: 'member', muted: false }); break;
      case 'banned': put({ state: 'banned', role: 'member', muted: false }); break;
      case 'left': case 'kicked': case 'declined': case 'unbanned': this.members.delete(target.id); break;
      case 'muted': case 'unmuted': put({ muted: p.action === 'muted' }); break;
      case 'role_set': put({ role: p.role }); break;
      case 'ownership_given': {
        put({ role: 'owner' });
        const former = this.members.get(p.actor.id);
        if (former) this.members.set(p.actor.id, { ...former, role: 'moderator' });
        if (p.actor.id === myId) this.role = 'moderator';
        break;
      }
      case 'title_set': this.title = p.text; break;
      case 'topic_set': this.topic = p.text; break;
      case 'kind_set': this.kind = p.room_type; break;
      default: break;
    }
    if (target.id !== myId || target.id === 0) return;
    if (p.action === 'muted' || p.action === 'unmuted') this.muted = p.action === 'muted';
    else if (p.action === 'role_set' || p.action === 'joined') this.role = p.role;
    else if (p.action === 'ownership_given') this.role = 'owner';
  }

  /**
   * room_joined in `epoch` (newest event `lastSeq`): the events saved by the
   * last page load that are still vouched for come back; those held in
   * memory belong to the new epoch (a room_reset follows when they do not).
   */
  joinedEpoch(epoch, lastSeq) {
    for (const ev of this.events.values()) ev.epoch = epoch;
    for (const ev of this.cachedEvents.splice(0)) {
      if (!Number.isSafeInteger(ev?.seq) || !ev.actor || !ev.target || this.events.has(ev.seq)) continue;
      if (!ev.stored && !(ev.epoch === epoch && ev.seq <= lastSeq)) continue;
      this.events.set(ev.seq, { ...ev, epoch });
      insertSorted(this.eventSeqs, ev.seq);
    }
  }

  /** A watermark of `epoch`: the events it covers outlive any later epoch. @return how many it covered now */
  markStored(epoch, seq) {
    let n = 0;
    for (const ev of this.events.values()) {
      if (ev.stored || ev.epoch !== epoch || ev.seq > seq) continue;
      ev.stored = true;
      n++;
    }
    return n;
  }

  /**
   * The room events the timeline shows, ascending: those from the oldest
   * message on screen on (older ones wait for their page), or all of them
   * once the room's first message is on screen.
   */
  shownEvents() {
    const floor = this.hasMore ? this.oldest : 0;
    let i = 0;
    while (i < this.eventSeqs.length && this.eventSeqs[i] < floor) i++;
    return this.eventSeqs.slice(i).map((s) => this.events.get(s));
  }

  // ---- reading -------------------------------------------------------------------------

  /** Counts unread messages by others after lastRead. */
  countUnread(myId) {
    let n = 0;
    for (let i = this.seqs.length - 1; i >= 0 && this.seqs[i] > this.lastRead; i--) {
      const r = this.messages.get(this.seqs[i]);
      if (r.author_id !== myId && !r.deleted) n++;
    }
    this.unread = n;
    return n;
  }

  /** Names of people typing now, in the order they started. */
  typingNames(now = Date.now()) {
    const names = [];
    for (const [id, t] of this.typing) {
      if (t.until > now) names.push(t.name);
      else this.typing.delete(id);
    }
    return names;
  }

  /** Forgets connection-scoped state when the connection drops. */
  disconnect() {
    this.id = 0;
    this.joined = false;
    this.loadingOlder = false;
    clearTimeout(this.olderTimer);
    this.typing.clear();
  }

  saved() {
    const events = this.cachedEvents.length ? this.cachedEvents : this.eventSeqs.slice(-KEPT_EVENTS).map((s) => this.events.get(s));
    return {
      lastRead: this.lastRead, listId: this.listId, kind: this.kind, title: this.title, topic: this.topic,
      role: this.role, muted: this.muted, people: this.people, member: this.member, events,
    };
  }
}

function insertSorted(list, seq) {
  // Nearly always an append; otherwise a binary search finds the place.
  if (!list.length || seq > list[list.length - 1]) {
    list.push(seq);
    return;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] < seq) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] !== seq) list.splice(lo, 0, seq);
}
