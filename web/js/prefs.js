// Preferences: the joined rooms, the room in view and the read positions of
// one user, kept in localStorage so they survive a reload.

const PREFS_VERSION = 1;
const SAVE_DELAY_MS = 400;          // saves coalesce over this long

export class Prefs {
  /** @param userId the signed-in user; @param snapshot () => {rooms, current, state}, what save() writes */
  constructor(userId, snapshot) {
    this.key = `parley:v${PREFS_VERSION}:user:${userId}`;
    this.snapshot = snapshot;
    this.timer = 0;
  }

  /** @return {rooms: [name], current: name|null, state: {name: saved room state}}, or null when none are kept */
  load() {
    try {
      return JSON.parse(localStorage.getItem(this.key) ?? 'null');
    } catch {
      return null;
    }
  }

  save() {
    clearTimeout(this.timer);
    this.timer = 0;
    try {
      localStorage.setItem(this.key, JSON.stringify(this.snapshot()));
    } catch (e) {
      console.warn('parley: cannot save preferences', e);
    }
  }

  saveSoon() {
    if (!this.timer) this.timer = setTimeout(() => this.save(), SAVE_DELAY_MS);
  }

  /** Writes what is pending and stops the timer. */
  dispose() {
    this.save();
  }
}
