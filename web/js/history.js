// History pages: the `latest` page that a join brings, and the `older` pages
// of scroll-back, one request in flight per room.
//
// Every request for older messages ends in exactly one `older` event of the
// Chat ({room}): when its page arrives, when the server refuses it, when the
// connection drops, or after OLDER_TIMEOUT_MS. settled() awaits that event,
// so nothing has to poll for it.

import { nextEvent } from './events.js';

const HISTORY_PAGE = 50;
const OLDER_TIMEOUT_MS = 10000;

export class History {
  /** @param chat the Chat model: rooms, connection, pacer, outbox links, events */
  constructor(chat) {
    this.chat = chat;
  }

  /** Asks for the page before the oldest message on screen. @return whether a request went out */
  loadOlder(roomName) {
    const { conn, kind, pacer } = this.chat;
    const room = this.chat.rooms.get(roomName);
    if (!room?.joined || !conn.ready || room.loadingOlder || !room.hasMore || !room.loaded) return false;
    if (pacer.take(kind.request_history) > 0) return false; // the next scroll asks again
    room.loadingOlder = true;
    room.olderBefore = room.oldest;
    room.olderTimer = setTimeout(() => {
      this.done(room);
      this.chat.emit('messages', { room: room.name, kind: 'update' });
    }, OLDER_TIMEOUT_MS);
    return conn.send({ type: 'request_history', room_id: room.id, before_seq: room.oldest, limit: HISTORY_PAGE });
  }

  /**
   * Resolves once the room's request for older messages (if any) has ended.
   * @return true, or false when `signal` aborted first
   */
  async settled(room, signal) {
    if (!room.loadingOlder) return !signal?.aborted;
    // The model's own timeout ends every request; the margin only guards against a bug.
    await nextEvent(this.chat, 'older', { filter: (e) => e.detail.room === room.name, signal, timeout: OLDER_TIMEOUT_MS + 2000 });
    return !signal?.aborted;
  }

  /** history_page: the latest page (after a join) or an older one (scroll-back). */
  onPage(p) {
    const chat = this.chat;
    const room = chat.byId.get(p.room_id);
    if (!room) return;
    const msgs = p.messages;
    let kind;
    if (p.mode === 'latest') {
      room.replace(msgs);
      room.hasMore = p.has_more;
      this.done(room);
      kind = 'replace';
    } else {
      kind = this.mergeOlder(room, p);
      if (!kind) return;
    }
    for (const m of msgs) chat.receipts.linkOutbox(room, m);
    if (!chat.viewing(room.name)) room.countUnread(chat.me.id);
    chat.emit('messages', { room: room.name, kind, records: msgs });
    chat.emit('rooms');
  }

  /**
   * An `older` page (scroll-back): the messages before the oldest one shown
   * when it was asked for. Seqs of messages have gaps (other events take
   * numbers), so a page is known to join on only by that request: one that
   * answers an older view (the room was reset or replaced since) is dropped.
   */
  mergeOlder(room, p) {
    const msgs = p.messages;
    if (!room.loaded || !room.loadingOlder) return null;
    if (room.olderBefore !== room.oldest) {
      this.done(room);
      this.chat.emit('messages', { room: room.name, kind: 'update' });
      return null;
    }
    if (msgs.length === 0) {
      room.hasMore = false;
      this.done(room);
      return 'prepend';
    }
    // Messages the view already has are newer there (events changed them since).
    const older = msgs.filter((m) => room.seqs.length === 0 || m.seq < room.oldest);
    for (const m of older) room.upsert(m);
    room.hasMore = p.has_more;
    this.done(room);
    return 'prepend';
  }

  /** The server refused a history request: no page is coming for any room waiting for one. */
  onRefused() {
    for (const room of this.chat.rooms.values()) if (room.loadingOlder) this.done(room);
  }

  /** The room's request for older messages has ended, however it ended. */
  done(room) {
    const was = room.loadingOlder;
    room.loadingOlder = false;
    clearTimeout(room.olderTimer);
    if (was) this.chat.emit('older', { room: room.name });
  }
}
