// The outbox: every message the user sends, kept in IndexedDB until the
// server says it is on disk.
//
// Life of an entry (docs: BRIEF, "Nothing a client sent is lost"):
//   pending  written here before it is sent; shown greyed with a clock
//   sent     acknowledged with a seq (message_ack, or its own chat_message)
//   saved    a persisted_watermark of its room covers the seq: removed here
//   failed   refused for good (e.g. empty text); kept until the user retries
//            or discards it
// After a reconnect or a reload every entry that is not saved is sent again
// with the same client_msg_id and resend=true; the server acknowledges a
// duplicate with its original seq instead of posting it twice.
//
// The entries are mirrored in memory (`entries`, insertion ordered), so the
// UI never waits for IndexedDB; writes are queued in order behind each other.
// When IndexedDB is unavailable (some private modes) the outbox works in
// memory only and says so through `durable`.

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
const STORED = ['client_msg_id', 'user_id', 'room', 'text', 'reply_to', 'created_at', 'state', 'seq', 'sent_at', 'attempts', 'error', 'errorCode'];

function storable(entry) {
  const out = {};
  for (const k of STORED) out[k] = entry[k];
  return out;
}

export class Outbox {
  constructor(userId, db) {
    this.userId = userId;
    this.db = db;
    this.durable = db !== null;
    /** client_msg_id -> entry, in the order the messages were written */
    this.entries = new Map();
    this.queue = Promise.resolve();
  }

  /** Opens the outbox of `userId` and loads its entries (oldest first). */
  static async open(userId) {
    let db = null;
    try {
      db = await openDatabase();
    } catch (e) {
      console.warn('parley: IndexedDB unavailable, the outbox will not survive a reload', e);
    }
    const box = new Outbox(userId, db);
    if (db) {
      const tx = db.transaction(STORE, 'readonly');
      const req = tx.objectStore(STORE).index('by_user').getAll(userId);
      await done(tx);
      const loaded = req.result.sort((a, b) => a.created_at - b.created_at);
      for (const e of loaded) box.entries.set(e.client_msg_id, { ...e, fromDisk: true });
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

  get size() {
    return this.entries.size;
  }

  /** Adds or updates an entry; resolves once it is durable. */
  put(entry) {
    this.entries.set(entry.client_msg_id, entry);
    return this.write((store) => store.put(storable(entry)));
  }

  /** Removes an entry (saved on the server, or discarded by the user). */
  remove(clientMsgId) {
    if (!this.entries.delete(clientMsgId)) return Promise.resolve();
    return this.write((store) => store.delete(clientMsgId));
  }

  write(op) {
    if (!this.db) return Promise.resolve();
    this.queue = this.queue.then(async () => {
      try {
        const tx = this.db.transaction(STORE, 'readwrite', { durability: 'strict' });
        op(tx.objectStore(STORE));
        await done(tx);
      } catch (e) {
        console.error('parley: outbox write failed', e);
      }
    });
    return this.queue;
  }

  close() {
    this.db?.close();
  }
}
