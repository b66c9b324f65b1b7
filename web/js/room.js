// What the client knows about one room: its messages (by seq), who is online
// and typing, and the bookkeeping that makes recovery exact.
//
// Messages are keyed by seq, so a message that arrives twice (as a replay and
// as a live broadcast, or as an ack echo after a resend) is stored once: an
// upsert replaces the record, it never adds a second one.
//
// Recovery point. The client rejoins with since_seq = `stored`, the highest
// seq a persisted_watermark has confirmed, not the highest seq it has seen.
// Messages above the watermark were broadcast but may not have reached the
// disk; if the server is killed they are gone, and the restarted server hands
// their seqs to new messages. Rejoining from the watermark makes the server
// replay everything that might differ, and truncateAbove() drops what the
// restarted server no longer has, so the view always matches the server.

export class Room {
  constructor(name, saved = {}) {
    this.name = name;
    this.id = 0;                 // room_id on the current connection; 0 = not joined
    this.joined = false;
    this.messages = new Map();   // seq -> message_record (+ `_v`, a render version)
    this.seqs = [];              // ascending
    this.hasMore = false;        // older messages exist before seqs[0]
    this.loaded = false;         // the first history answer arrived
    this.loadingOlder = false;
    this.olderTimer = 0;
    this.lastRead = saved.lastRead ?? 0;
    this.stored = saved.stored ?? 0;
    this.persistedSeq = 0;       // watermark on the current connection
    this.serverLast = 0;         // room_joined.last_seq, then raised by new messages
    this.online = new Map();     // user id -> name
    this.typing = new Map();     // user id -> {name, until}
    this.unread = 0;
    this.sinceSent = 0;          // since_seq of the join in flight
  }

  get oldest() {
    return this.seqs.length ? this.seqs[0] : 0;
  }

  get newest() {
    return this.seqs.length ? this.seqs[this.seqs.length - 1] : 0;
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
    // Nearly always an append; otherwise a binary search finds the place.
    if (!this.seqs.length || rec.seq > this.newest) this.seqs.push(rec.seq);
    else {
      let lo = 0;
      let hi = this.seqs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.seqs[mid] < rec.seq) lo = mid + 1;
        else hi = mid;
      }
      this.seqs.splice(lo, 0, rec.seq);
    }
    return 'new';
  }

  /** Marks a record changed after an in-place update. */
  touch(rec) {
    rec._v = (rec._v ?? 0) + 1;
  }

  /** Replaces every message (a `latest` history page). */
  replace(records) {
    this.messages.clear();
    this.seqs = [];
    for (const r of records) this.upsert(r);
  }

  /** Forgets messages the server does not have (lost in a crash). @return the dropped records */
  truncateAbove(seq) {
    const dropped = [];
    while (this.seqs.length && this.newest > seq) {
      const s = this.seqs.pop();
      dropped.push(this.messages.get(s));
      this.messages.delete(s);
    }
    return dropped;
  }

  /** The record of one of my messages, by its client message id. */
  findByClientId(authorId, clientMsgId) {
    for (let i = this.seqs.length - 1; i >= 0; i--) {
      const r = this.messages.get(this.seqs[i]);
      if (r.client_msg_id === clientMsgId && r.author_id === authorId) return r;
    }
    return null;
  }

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
    return { lastRead: this.lastRead, stored: this.stored };
  }
}
