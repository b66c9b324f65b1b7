// What the client knows about one room: its messages (by seq), who is online
// and typing, and the position that makes recovery exact.
//
// Messages are keyed by seq, so a message that arrives twice (as a replay and
// as a live broadcast, or as an ack echo after a resend) is stored once: an
// upsert replaces the record, it never adds a second one.
//
// Position (docs/protocol.md, "Epochs"). Every change in a room (a message,
// an edit, a deletion, a reaction) is an event with the next seq of the
// room's current epoch. The client holds (epoch, lastSeq): the newest event
// it applied, in the epoch it applied it in. It rejoins with that position and
// the server replays exactly the events after it, or, when it can no longer
// vouch for part of what the client holds (a crash lost events that were
// broadcast but never stored), sends room_reset: drop everything above
// base_seq, take the new epoch, and a `latest` page follows. A view that is
// not in memory (a reload) joins with (0, 0) and gets the latest page.

export class Room {
  constructor(name, saved = {}) {
    this.name = name;
    this.id = 0;                 // room_id on the current connection; 0 = not joined
    this.joined = false;
    this.messages = new Map();   // seq -> message_record (+ `_v`, a render version)
    this.seqs = [];              // ascending
    this.hasMore = false;        // older messages exist before seqs[0]
    this.loaded = false;         // the view holds the room as of (epoch, lastSeq)
    this.loadingOlder = false;
    this.olderTimer = 0;
    this.lastRead = saved.lastRead ?? 0;
    this.epoch = 0;              // the epoch of lastSeq; 0 = none
    this.lastSeq = 0;            // newest event applied to this view
    this.persistedSeq = 0;       // watermark on the current connection
    this.online = new Map();     // user id -> name
    this.typing = new Map();     // user id -> {name, until}
    this.unread = 0;
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

  /**
   * Replaces every message with a `latest` page. The page is the room as of
   * some seq the wire does not name (the events after it follow it), so the
   * position claimed is its newest message: a replay from there repeats only
   * events the page already shows, and every event packet sets a state.
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
    this.lastSeq = Math.min(this.lastSeq, seq);
    this.lastRead = Math.min(this.lastRead, seq);
    this.epoch = epoch;
    return dropped;
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
    return { lastRead: this.lastRead };
  }
}
