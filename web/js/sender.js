// The sender: every change the user makes goes into the outbox first, and
// from there to the server, oldest first, paced, and again after a refusal
// that asks to wait.
//
// A new message, an edit, a deletion, a reaction or a change of a room's
// membership or settings (manage_room) is an outbox entry (outbox.js) before
// anything else, durable when enqueue() returns. flush() sends a room's
// entries that were not sent on this connection yet, in the order written,
// paced by the limits the server announced (pacer.js); a change aimed at one
// of my messages that has no seq yet waits for it. A refusal either sets a
// time to try again (rate limits, a busy server, a room that cannot be
// loaded) or ends the entry: a message is marked failed (the user retries or
// discards it), a change is dropped with a notice. What the server answers
// for accepted entries is the job of receipts.js.

import { newClientMsgId } from './protocol.js';
import { isMessage, targetsMessage } from './outbox.js';

export class Sender {
  /** @param chat the Chat model: rooms, connection, outbox, pacer, generation, events */
  constructor(chat) {
    this.chat = chat;
    this.outbox = chat.outbox;
    this.flushTimers = new Map();    // room name -> timer of its next paced flush
  }

  dispose() {
    for (const t of this.flushTimers.values()) clearTimeout(t);
    this.flushTimers.clear();
  }

  // ---- the user's changes ----------------------------------------------------------

  /** Queues a new message in the outbox and sends it when the room is joined. */
  sendMessage(roomName, text, replyTo = 0) {
    this.chat.typing.stopIn(roomName);
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
    const on = !this.chat.receipts.reactedNow(roomName, seq, reaction);
    return this.change(roomName, seq, { kind: 'reaction', reaction, on });
  }

  /**
   * A change of a room's membership or settings (manage_room): {action,
   * user_id, role, room_type, text}; the fields an action does not use may
   * be left out.
   */
  manage(roomName, { action, user_id: userId = 0, role = 'member', room_type: kind = 'public', text = '' }) {
    return this.enqueue(roomName, { kind: 'manage', action, target_user: userId, role, room_type: kind, text });
  }

  /** Whether my leaving the room waits in the outbox (it is gone from the list until refused). */
  leaving(roomName) {
    return this.outbox.forRoom(roomName).some((e) => e.kind === 'manage' && e.action === 'left');
  }

  change(roomName, seq, fields) {
    const rec = this.chat.rooms.get(roomName)?.get(seq);
    const mine = rec && rec.author_id === this.chat.me.id ? this.outbox.get(rec.client_msg_id) : null;
    return this.enqueue(roomName, { ...fields, message_seq: seq, target_cid: mine ? mine.client_msg_id : 0 });
  }

  /** Writes an entry to the outbox (durable on return) and sends it when it can. */
  enqueue(roomName, fields) {
    const entry = {
      client_msg_id: newClientMsgId(), user_id: this.chat.me.id, room: roomName, text: '', reply_to: 0,
      message_seq: 0, target_cid: 0, reaction: '', on: false, ...fields,
      created_at: Date.now(), state: 'pending', seq: 0, ack_epoch: 0, sent_at: 0, attempts: 0, error: null,
    };
    this.outbox.put(entry); // durable on return (the outbox's journal): a reload cannot lose it
    this.chat.emit('messages', { room: roomName, kind: isMessage(entry) ? 'append' : 'update', mine: true });
    this.chat.emit('outbox');
    this.flush(roomName);
    return entry;
  }

  retry(clientMsgId) {
    const entry = this.outbox.get(clientMsgId);
    if (!entry) return;
    // A reply whose original is gone is sent again as a plain message.
    if (entry.errorCode === this.chat.err.no_such_message) entry.reply_to = 0;
    entry.state = 'pending';
    entry.error = null;
    entry.errorCode = 0;
    entry.sentOn = null;
    entry.notBefore = 0;
    this.outbox.put(entry);
    this.flush(entry.room);
    this.chat.emit('messages', { room: entry.room, kind: 'update', mine: true });
  }

  discard(clientMsgId) {
    const entry = this.outbox.get(clientMsgId);
    if (!entry) return;
    this.outbox.remove(clientMsgId);
    this.chat.emit('messages', { room: entry.room, kind: 'update', mine: true });
    this.chat.emit('outbox');
  }

  /** Forgets a room's entries, unsent ones included (the user left the room). */
  forgetRoom(roomName) {
    for (const e of this.outbox.forRoom(roomName)) this.outbox.remove(e.client_msg_id);
    clearTimeout(this.flushTimers.get(roomName));
    this.flushTimers.delete(roomName);
  }

  /** The room's address changed (chat.rename moved its entries): its paced flush follows it. */
  renamed(from, to) {
    if (!this.flushTimers.has(from)) return;
    clearTimeout(this.flushTimers.get(from));
    this.flushTimers.delete(from);
    this.flush(to);
  }

  // ---- sending -----------------------------------------------------------------------

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
      case 'manage': return {
        type: 'manage_room', room_id: room.id, client_id: e.client_msg_id, action: e.action, user_id: e.target_user ?? 0,
        role: e.role || 'member', room_type: e.room_type || 'public', text: e.text ?? '', resend,
      };
      default: return null;
    }
  }

  /**
   * Sends the room's outbox entries not yet sent on this connection, oldest
   * first, paced by the server's announced limits so a long offline queue
   * does not trip them. A change waiting for its target's seq waits.
   */
  flush(roomName) {
    const { conn, generation } = this.chat;
    const room = this.chat.rooms.get(roomName);
    if (!room?.joined || !conn.ready) return;
    for (const e of this.outbox.forRoom(roomName)) {
      if (e.state === 'failed' || e.state === 'saved' || e.sentOn === generation) continue;
      if (targetsMessage(e) && e.message_seq === 0) continue;
      const packet = this.packetFor(room, e);
      if (!packet) {
        this.failEntry(e, 0, 'This browser wrote it in a form it can no longer send.');
        continue;
      }
      const wait = Math.max((e.notBefore ?? 0) - Date.now(), this.chat.pacer.take(this.chat.kind[packet.type]));
      if (wait > 0) return this.scheduleFlush(roomName, wait);
      let sent;
      try {
        sent = conn.send(packet);
      } catch (err) {
        // The codec refuses it (e.g. an entry written by an older client): it can never be sent.
        this.failEntry(e, 0, `It cannot be encoded: ${err.message}`);
        continue;
      }
      if (!sent) return undefined;
      e.attempts++;
      e.sentOn = generation;
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

  // ---- refusals ----------------------------------------------------------------------

  /** error_report for an outbox entry: wait and send again, or give up on it for good. */
  onRefused(p) {
    const E = this.chat.err;
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
        [E.forbidden]: 'You can only edit your own messages, and delete only yours unless you moderate the room.',
        [E.message_deleted]: 'That message was deleted.',
        [E.no_such_message]: 'That message no longer exists.',
        [E.empty_text]: 'A message cannot be empty.',
        [E.muted]: 'You are muted in this room.',
        [E.not_allowed]: 'Your role in this room does not allow that.',
        [E.no_such_user]: 'That person does not exist.',
        [E.bad_room_name]: 'A public room needs a name of letters, digits, “.”, “_” or “-”: rename it first.',
        [E.room_name_taken]: 'A public room with that name exists already: rename this one first.',
      }[p.code] ?? (p.text || `The server refused the change (error ${p.code}).`);
      this.dropChange(entry, why);
      return;
    }
    this.failEntry(entry, p.code, {
      [E.no_such_message]: 'The message it replied to no longer exists.',
      [E.muted]: 'You are muted in this room.',
    }[p.code] ?? (p.text || `Refused by the server (error ${p.code}).`));
  }

  /** A change that cannot be applied: it leaves the outbox and the user is told. */
  dropChange(entry, why) {
    this.outbox.remove(entry.client_msg_id);
    if (entry.kind === 'manage' && entry.action === 'left') this.chat.leaveRefused(entry.room);
    this.chat.notice(`${why} Your change was not saved.`, 'warn');
    this.chat.emit('messages', { room: entry.room, kind: 'update', mine: true });
    this.chat.emit('outbox');
  }

  failEntry(entry, code, why) {
    entry.state = 'failed';
    entry.errorCode = code;
    entry.error = why;
    this.outbox.put(entry);
    this.chat.emit('messages', { room: entry.room, kind: 'update', mine: true });
  }
}
