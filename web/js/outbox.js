// The outbox: every change the user makes (a message, an edit, a deletion,
// a reaction, a change of a room's membership or settings), kept in
// IndexedDB until the server says it is on disk.
//
// Life of an entry (docs: BRIEF, "Nothing a client sent is lost"):
//   pending  written here before it is sent; shown greyed with a clock
//   sent     acknowledged (`ack`) as event `seq` of the room's epoch
//            `ack_epoch`
//   saved    a persisted_watermark of that epoch covers the seq: removed here
//   failed   a message refused for good (e.g. empty text); kept until the user
//            retries or discards it (a refused edit, deletion or reaction is
//            dropped with a notice instead: there is nothing to retry)
// After a reconnect or a reload every entry that is not saved is sent again
// with the same client id and resend=true; the server acknowledges a
// duplicate with the original instead of applying it twice.
//
// Entries are keyed by their client id (`client_msg_id`, the store's key for
// every kind). `kind` is message, edit, delete, reaction or manage (a
// manage_room: `action`, `target_user`, `role`, `room_type`, `text`); changes of
// messages name their target by `message_seq`, and by `target_cid` when the
// target is one of the user's own messages still in the outbox (its seq may
// change).
//
// Durability. IndexedDB writes are asynchronous: a tab that navigates or
// closes a few milliseconds after Enter aborts the transaction, and the
// change would be gone. So every write first goes, synchronously, into a
// small journal in localStorage, and leaves it once its IndexedDB transaction
// has committed. Opening the outbox replays the journal into IndexedDB. An
// entry is therefore durable the moment put() returns, and can be sent at
// once, without waiting for the database.
//
// The entries are mirrored in memory (`entries`, insertion ordered), so the
// UI never waits for storage; database writes are queued behind each other.
// Without IndexedDB (some private modes) the journal alone keeps them.

const DB_NAME = 'parley';
const DB_VERSION = 1;
const STORE = 'outbox';

function openDatabase() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(STORE)) {
        const store = db.createObjectStore(STORE, { keyPath: 'client_msg_id' });
        store.createIndex('by_user', 'user_id');
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

// The fields that are stored; the rest of an entry is per page load.
const STORED = [
  'client_msg_id', 'user_id', 'room', 'kind', 'text', 'reply_to', 'message_seq', 'target_cid', 'reaction', 'on',
  'action', 'target_user', 'role', 'room_type',
  'created_at', 'state', 'seq', 'ack_epoch', 'sent_at', 'attempts', 'error', 'errorCode',
];

function storable(entry) {
  const out = {};
  for (const k of STORED) out[k] = entry[k];
  return out;
}

/**
 * Writes not yet committed to IndexedDB, by client_msg_id: an entry to put,
 * or null for a removal. Kept in localStorage, whose writes are synchronous.
 */
class Journal {
  constructor(userId) {
    this.key = `parley:outbox-journal:${userId}`;
    this.pending = new Map(); // client_msg_id -> number of uncommitted writes
  }

  read() {
    try {
      return JSON.parse(localStorage.getItem(this.key) ?? '{}');
    } catch {
      return {};
    }
  }

  write(map) {
    try {
      if (Object.keys(map).length) localStorage.setItem(this.key, JSON.stringify(map));
      else localStorage.removeItem(this.key);
    } catch (e) {
      console.warn('parley: the outbox journal cannot be written', e);
    }
  }

  /** Records a write (entry, or null for a removal) before it goes to the database. */
  record(id, entry) {
    const map = this.read();
    map[id] = entry;
    this.write(map);
    this.pending.set(id, (this.pending.get(id) ?? 0) + 1);
  }

  /** The database has the write: forget it unless a later one is still in flight. */
  committed(id) {
    const left = (this.pending.get(id) ?? 1) - 1;
    if (left > 0) return this.pending.set(id, left);
    this.pending.delete(id);
    const map = this.read();
    delete map[id];
    this.write(map);
    return undefined;
  }
}

/** Entries written before changes had kinds are messages. */
export function isMessage(entry) {
  return (entry.kind ?? 'message') === 'message';
}

/** An edit, a deletion or a reaction: a change aimed at a message (by `message_seq`). */
export function targetsMessage(entry) {
  return entry.kind === 'edit' || entry.kind === 'delete' || entry.kind === 'reaction';
}

export class Outbox {
  constructor(userId, db) {
    this.userId = userId;
    this.db = db;
    this.journal = new Journal(userId);
    /** client_msg_id -> entry, in the order the messages were written */
    this.entries = new Map();
    this.queue = Promise.resolve();
  }

  /** Opens the outbox of `userId`: the database's entries, then the journal replayed over them. */
  static async open(userId) {
    let db = null;
    try {
      db = await openDatabase();
    } catch (e) {
      console.warn('parley: IndexedDB unavailable, only the journal keeps unsent messages', e);
    }
    const box = new Outbox(userId, db);
    const loaded = new Map();
    if (db) {
      const tx = db.transaction(STORE, 'readonly');
      const req = tx.objectStore(STORE).index('by_user').getAll(userId);
      await done(tx);
      for (const e of req.result) loaded.set(e.client_msg_id, e);
    }
    const journal = box.journal.read();
    for (const [id, e] of Object.entries(journal)) {
      if (e) loaded.set(Number(id), e);
      else loaded.delete(Number(id));
    }
    for (const e of [...loaded.values()].sort((a, b) => a.created_at - b.created_at)) {
      box.entries.set(e.client_msg_id, { ...e, fromDisk: true });
    }
    // Move the journal into the database (or keep it, when there is none).
    for (const [id, e] of Object.entries(journal)) {
      if (e) box.put(box.entries.get(Number(id)));
      else box.remove(Number(id), true);
    }
    return box;
  }

  get(clientMsgId) {
    return this.entries.get(clientMsgId);
  }

  /** Entries of one room, oldest first. */
  forRoom(room) {
    return [...this.entries.values()].filter((e) => e.room === room);
  }

  /** Messages (not changes) of one room, oldest first. */
  messagesOf(room) {
    return this.forRoom(room).filter(isMessage);
  }

  get size() {
    return this.entries.size;
  }

  /** Adds or updates an entry. Durable when it returns; resolves once it is in the database. */
  put(entry) {
    this.entries.set(entry.client_msg_id, entry);
    const row = storable(entry);
    return this.write(entry.client_msg_id, row, (store) => store.put(row));
  }

  /** Removes an entry (saved on the server, or discarded by the user). */
  remove(clientMsgId, force = false) {
    if (!this.entries.delete(clientMsgId) && !force) return Promise.resolve();
    return this.write(clientMsgId, null, (store) => store.delete(clientMsgId));
  }

  write(id, row, op) {
    if (!this.db) {
      // The journal is the only store: it holds entries, not removals.
      if (row) this.journal.record(id, row);
      else this.journal.committed(id);
      return Promise.resolve();
    }
    this.journal.record(id, row);
    this.queue = this.queue.then(async () => {
      try {
        const tx = this.db.transaction(STORE, 'readwrite', { durability: 'strict' });
        op(tx.objectStore(STORE));
        await done(tx);
        this.journal.committed(id);
      } catch (e) {
        console.error('parley: outbox write failed; the journal keeps it', e);
      }
    });
    return this.queue;
  }

  /** Closes the database once the writes already queued have gone in (a page that stays open after sign-out still finishes them). */
  close() {
    const db = this.db;
    this.queue = this.queue.then(() => db?.close());
    return this.queue;
  }
}
