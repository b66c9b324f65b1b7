// Typing: my "typing" signal to the room (repeated while I type, idled out,
// paced) and the expiry of others' signals, room by room.

const TYPING_REFRESH_MS = 3000;      // "typing" is repeated at most this often
const TYPING_IDLE_MS = 5000;         // no keystroke for this long: stopped
const REMOTE_TYPING_MS = 8000;       // safety net if a "stopped" never arrives

export class Typing {
  /** @param chat the Chat model: rooms, connection, pacer, events */
  constructor(chat) {
    this.chat = chat;
    this.room = null;                // the room my "typing" went to, or null
    this.sentAt = 0;
    this.idleTimer = 0;
    this.expiryTimers = new Map();   // room name -> timer of the next expiry
  }

  dispose() {
    clearTimeout(this.idleTimer);
    for (const t of this.expiryTimers.values()) clearTimeout(t);
    this.expiryTimers.clear();
  }

  /** Call on every edit of the composer; sends "typing" at most every few seconds. */
  update(roomName, hasText) {
    if (!hasText) return this.stop();
    if (this.room && this.room !== roomName) this.stop();
    const { conn, kind, pacer } = this.chat;
    const room = this.chat.rooms.get(roomName);
    if (!room?.joined || !conn.ready || room.muted) return undefined; // a muted member's typing is not shown
    const now = Date.now();
    const due = this.room !== roomName || now - this.sentAt >= TYPING_REFRESH_MS;
    if (due && pacer.take(kind.set_typing) === 0) {
      conn.send({ type: 'set_typing', room_id: room.id, active: true });
      this.room = roomName;
      this.sentAt = now;
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), TYPING_IDLE_MS);
    return undefined;
  }

  /** Tells the room I stopped typing (if I had said I was). */
  stop() {
    clearTimeout(this.idleTimer);
    const name = this.room;
    this.room = null;
    this.sentAt = 0;
    const room = name && this.chat.rooms.get(name);
    if (room?.joined && this.chat.conn.ready) this.chat.conn.send({ type: 'set_typing', room_id: room.id, active: false });
  }

  /** Stops my signal if it went to `roomName` (I sent a message there, or left it). */
  stopIn(roomName) {
    if (this.room === roomName) this.stop();
  }

  /** A room's address changed: my signal and the expiry of others' follow it. */
  renamed(from, to) {
    if (this.room === from) this.room = to;
    const timer = this.expiryTimers.get(from);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.expiryTimers.delete(from);
    const room = this.chat.rooms.get(to);
    if (room) this.scheduleExpiry(room);
  }

  /** The connection is gone, and with it the server's memory of my signal. */
  forget() {
    this.room = null;
  }

  /** typing_update: someone else started or stopped. */
  onUpdate(p) {
    const room = this.chat.byId.get(p.room_id);
    if (!room || p.user.id === this.chat.me.id) return;
    if (p.active) room.typing.set(p.user.id, { name: p.user.name, until: Date.now() + REMOTE_TYPING_MS });
    else room.typing.delete(p.user.id);
    this.scheduleExpiry(room);
    this.chat.emit('typing', { room: room.name });
  }

  scheduleExpiry(room) {
    clearTimeout(this.expiryTimers.get(room.name));
    if (room.typing.size === 0) return;
    const next = Math.min(...[...room.typing.values()].map((t) => t.until));
    this.expiryTimers.set(room.name, setTimeout(() => {
      room.typingNames();
      this.scheduleExpiry(room);
      this.chat.emit('typing', { room: room.name });
    }, Math.max(50, next - Date.now() + 20)));
  }
}
