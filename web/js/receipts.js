// Receipts: what the server has answered for my outbox entries. An `ack` (or
// a message's own broadcast) makes an entry `sent` with its seq and the
// room's epoch; a `persisted_watermark` of that epoch at or above the seq
// makes it `saved` and removes it. A rejoin in another epoch, or a reset
// below the seq, makes it pending again: that seq is no longer vouched for.
// The views read each message's status here.

import { isMessage, targetsMessage } from './outbox.js';

export class Receipts {
  /** @param chat the Chat model: rooms, outbox, the sender, events */
  constructor(chat) {
    this.chat = chat;
    this.outbox = chat.outbox;
    this.savedIds = new Set();       // client ids confirmed saved during this page load
  }

  // ---- answers -----------------------------------------------------------------------

  onAck(p) {
    const entry = this.outbox.get(p.client_id);
    const room = this.chat.byId.get(p.room_id);
    if (!entry || !room || entry.room !== room.name) return;
    if (p.seq === 0) {
      // It changed nothing (already so): nothing to wait for.
      this.markSaved(entry);
      this.chat.emit('messages', { room: room.name, kind: 'update', mine: true });
      return;
    }
    this.acknowledged(room, entry, p.seq, p.at);
    if (isMessage(entry)) this.showAcknowledged(room, entry);
    this.chat.emit('messages', { room: room.name, kind: 'update', mine: true });
  }

  /** Connects a record of mine to its outbox entry: it now has a seq. */
  linkOutbox(room, rec) {
    if (rec.author_id !== this.chat.me.id) return;
    const entry = this.outbox.get(rec.client_msg_id);
    if (!entry || entry.room !== room.name || !isMessage(entry)) return;
    if (entry.state === 'sent' && entry.seq === rec.seq && entry.ack_epoch === room.epoch) return;
    this.acknowledged(room, entry, rec.seq, rec.sent_at);
  }

  /** The server gave an entry its seq in the room's current epoch. */
  acknowledged(room, entry, seq, at) {
    entry.state = 'sent';
    entry.seq = seq;
    entry.ack_epoch = room.epoch;
    entry.error = null;
    if (isMessage(entry)) {
      entry.sent_at = at;
      this.retarget(room, entry);
    }
    if (seq <= room.persistedSeq) this.markSaved(entry);
    else this.outbox.put(entry);
  }

  /** Changes waiting for one of my messages to get its (new) seq can go now. */
  retarget(room, message) {
    let waiting = false;
    for (const e of this.outbox.forRoom(room.name)) {
      if (e.target_cid !== message.client_msg_id || isMessage(e) || e.message_seq === message.seq) continue;
      e.message_seq = message.seq;
      this.outbox.put(e);
      waiting = true;
    }
    if (waiting) this.chat.sender.flush(room.name);
  }

  /**
   * A duplicate resend is acknowledged without a broadcast: show the message
   * from the entry when the server's copy is not on screen.
   */
  showAcknowledged(room, entry) {
    const me = this.chat.me;
    const rec = room.get(entry.seq);
    const ours = rec && rec.author_id === me.id && rec.client_msg_id === entry.client_msg_id;
    if (ours || !room.seqs.length || entry.seq < room.oldest) return;
    room.upsert({
      seq: entry.seq, author_id: me.id, author: me.username, client_msg_id: entry.client_msg_id,
      sent_at: entry.sent_at, edited_at: 0, reply_to: entry.reply_to, deleted: false, deleted_by: 0, text: entry.text,
      reactions: [], my_reactions: 0,
    });
  }

  onWatermark(p) {
    const room = this.chat.byId.get(p.room_id);
    if (!room) return;
    room.persistedSeq = Math.max(room.persistedSeq, p.seq);
    if (room.markStored(room.epoch, p.seq)) this.chat.prefs.saveSoon(); // stored events outlive a restart: keep them so
    let changed = false;
    for (const entry of this.outbox.forRoom(room.name)) {
      if (entry.state === 'sent' && entry.ack_epoch === room.epoch && entry.seq <= p.seq) {
        this.markSaved(entry);
        changed = true;
      }
    }
    if (changed) this.chat.emit('messages', { room: room.name, kind: 'update' });
  }

  markSaved(entry) {
    entry.state = 'saved';
    this.savedIds.add(entry.client_msg_id);
    this.outbox.remove(entry.client_msg_id);
    this.chat.emit('outbox');
  }

  // ---- what a (re)join or a reset undoes ---------------------------------------------

  /** room_joined in `epoch`: what was acknowledged elsewhere, or sent and not answered, goes again. */
  onJoined(room, epoch) {
    // Acknowledgements from another epoch are not vouched for: send those
    // entries again (a duplicate is acknowledged with its original seq).
    this.repend(room, (e) => e.seq > 0 && e.ack_epoch !== epoch);
    // A rejoin on the same connection (the server left the room) sends again
    // what was sent before it and not answered.
    for (const e of this.outbox.forRoom(room.name)) if (e.state === 'pending') e.sentOn = null;
  }

  /** room_reset from epoch `before` to p.epoch: nothing above p.base_seq is vouched for. */
  onReset(room, before, p) {
    this.repend(room, (e) => e.seq > p.base_seq);
    // At or below the base the old epoch and the new one are the same: those
    // acknowledgements still hold, and the new epoch's watermark saves them.
    for (const e of this.outbox.forRoom(room.name)) {
      if (e.seq > 0 && e.ack_epoch === before) {
        e.ack_epoch = p.epoch;
        this.outbox.put(e);
      }
    }
    // Changes aimed at a message that is gone with the reset: mine come back
    // with a new seq (their target_cid finds it); others' are lost.
    for (const e of this.outbox.forRoom(room.name)) {
      if (!targetsMessage(e) || e.message_seq <= p.base_seq) continue;
      if (e.target_cid && this.outbox.get(e.target_cid)) {
        e.message_seq = 0;
        this.outbox.put(e);
      } else {
        this.chat.sender.dropChange(e, 'A change to a message lost in a server restart was not saved.');
      }
    }
  }

  /** Makes the matching outbox entries of a room pending again (their seq is not vouched for). */
  repend(room, which) {
    for (const e of this.outbox.forRoom(room.name)) {
      if (e.state === 'failed' || !which(e)) continue;
      e.state = 'pending';
      e.seq = 0;
      e.ack_epoch = 0;
      e.sentOn = null;
      this.outbox.put(e);
    }
  }

  // ---- what the views show -----------------------------------------------------------

  /** Outbox messages of a room that have no server copy on screen yet. */
  pendingFor(roomName) {
    const room = this.chat.rooms.get(roomName);
    return this.outbox.messagesOf(roomName).filter((e) => {
      if (!e.seq || !room) return true;
      const rec = room.get(e.seq);
      return !(rec && rec.client_msg_id === e.client_msg_id && rec.author_id === this.chat.me.id);
    });
  }

  /** pending, sent, saved or failed for one of my messages; null for others' messages. */
  statusOf(room, rec) {
    if (rec.author_id !== this.chat.me.id) return null;
    const entry = this.outbox.get(rec.client_msg_id);
    if (entry) return entry.state;
    if (this.savedIds.has(rec.client_msg_id) || rec.seq <= room.persistedSeq) return 'saved';
    return 'sent';
  }

  /**
   * My unsaved changes to a message: {state: pending|sent, text} (text: the
   * newest pending edit), or null when none is in the outbox.
   */
  changesOf(room, rec) {
    let state = null;
    let text = null;
    for (const e of this.outbox.forRoom(room.name)) {
      if (isMessage(e) || e.message_seq !== rec.seq) continue;
      if (e.state === 'pending' || state === null) state = e.state;
      if (e.kind === 'edit') text = e.text;
    }
    return state ? { state, text } : null;
  }

  /** Whether my reaction is on a message, counting changes still in the outbox. */
  reactedNow(roomName, seq, reaction) {
    const rec = this.chat.rooms.get(roomName)?.get(seq);
    let on = Boolean(rec && rec.my_reactions & (1 << this.chat.protocol.reactions.indexOf(reaction)));
    for (const e of this.outbox.forRoom(roomName)) {
      if (e.kind === 'reaction' && e.message_seq === seq && e.reaction === reaction) on = e.on;
    }
    return on;
  }
}
