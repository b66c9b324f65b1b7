// Finding people by name, for the direct-message picker and for invitations:
// an input and a list of matches. What is typed goes to the server
// (GET /api/users?q=PREFIX, paced: one request per pause in typing); the
// people the user already shares rooms with are offered at once, and stand
// in when the search cannot be reached. Arrow keys move through the
// matches, Enter or a click picks one.

import { h } from './dom.js';
import { paintAvatar } from './format.js';
import { api } from '../api.js';

const SEARCH_DELAY_MS = 150;
const MAX_SHOWN = 20;

export class UserSearch {
  /**
   * @param input the text field; @param results the list (role=listbox)
   * @param options {known() -> [{id, name}]: people to offer without asking,
   *   exclude() -> Set of ids not to offer, onPick({id, name}), empty: the text when nothing matches}
   */
  constructor(input, results, { known, exclude, onPick, empty = 'Nobody by that name.' }) {
    this.input = input;
    this.results = results;
    this.known = known;
    this.exclude = exclude;
    this.onPick = onPick;
    this.empty = empty;
    this.found = [];             // the server's matches for `query`
    this.query = null;
    this.active = 0;
    this.timer = 0;
    this.asked = 0;              // counts requests: only the newest answer is shown
    this.lifetime = new AbortController();
    const { signal } = this.lifetime;
    input.addEventListener('input', () => this.schedule(), { signal });
    input.addEventListener('keydown', (e) => this.onKey(e), { signal });
    results.addEventListener('click', (e) => {
      const option = e.target.closest('[data-user-id]');
      if (option) this.pick(Number(option.dataset.userId), option.dataset.userName);
    }, { signal });
    // A press on an option must not take the focus from the input first.
    results.addEventListener('mousedown', (e) => e.preventDefault(), { signal });
  }

  dispose() {
    this.lifetime.abort();
    clearTimeout(this.timer);
    this.results.replaceChildren();
  }

  /** Starts again with an empty field. */
  reset() {
    clearTimeout(this.timer);
    this.asked++;
    this.input.value = '';
    this.found = [];
    this.query = null;
    this.active = 0;
    this.render();
  }

  schedule() {
    clearTimeout(this.timer);
    this.active = 0;
    this.render();
    const q = this.input.value.trim();
    if (!q) return;
    this.timer = setTimeout(() => this.search(q), SEARCH_DELAY_MS);
  }

  async search(q) {
    const asked = ++this.asked;
    let users = null;
    try {
      ({ users } = await api.users(q));
    } catch {
      users = null; // unreachable, or a server without the search: the known people stand in
    }
    if (asked !== this.asked || this.lifetime.signal.aborted) return;
    this.query = q;
    this.found = Array.isArray(users) ? users.map((u) => ({ id: u.id, name: u.username })) : null;
    this.render();
  }

  /** The people offered now: known ones matching what is typed, then the server's, without repeats. */
  matches() {
    const q = this.input.value.trim().toLowerCase();
    const skip = this.exclude();
    const out = new Map();
    const add = (u) => {
      if (!skip.has(u.id) && !out.has(u.id) && u.name.toLowerCase().startsWith(q)) out.set(u.id, u);
    };
    for (const u of this.known()) add(u);
    if (this.found && this.query !== null && q.startsWith(this.query.toLowerCase())) for (const u of this.found) add(u);
    return [...out.values()].sort((a, b) => a.name.localeCompare(b.name)).slice(0, MAX_SHOWN);
  }

  render() {
    const people = this.matches();
    this.shown = people;
    this.active = Math.min(this.active, Math.max(0, people.length - 1));
    const typed = this.input.value.trim();
    const waiting = typed && this.query !== typed;
    const items = people.map((u, i) => {
      const avatar = h('span', { class: 'avatar small', 'aria-hidden': 'true' });
      paintAvatar(avatar, u.name);
      return h('li', {
        class: `person-option${i === this.active ? ' active' : ''}`, role: 'option', id: `${this.results.id}-${u.id}`,
        'aria-selected': String(i === this.active), dataset: { userId: u.id, userName: u.name },
      }, avatar, h('span', { class: 'person-name', text: u.name }));
    });
    if (!items.length) items.push(h('li', { class: 'muted', role: 'presentation', text: waiting ? 'Searching…' : typed ? this.empty : 'Type a name to find someone.' }));
    this.results.replaceChildren(...items);
    if (people.length) this.input.setAttribute('aria-activedescendant', `${this.results.id}-${people[this.active].id}`);
    else this.input.removeAttribute('aria-activedescendant');
  }

  onKey(e) {
    const n = this.shown?.length ?? 0;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!n) return;
      e.preventDefault();
      this.active = (this.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.render();
    } else if (e.key === 'Enter' && n && this.input.value.trim()) {
      e.preventDefault();
      const u = this.shown[this.active];
      this.pick(u.id, u.name);
    }
  }

  pick(id, name) {
    this.onPick({ id, name });
    this.reset();
    this.input.focus();
  }
}

/** The people the user shares rooms with, by id: members, people online, direct conversations. */
export function knownPeople(chat) {
  const out = new Map();
  for (const room of chat.rooms.values()) {
    for (const m of room.members.values()) if (m.state === 'member') out.set(m.id, { id: m.id, name: m.name });
    for (const [id, name] of room.online) out.set(id, { id, name });
    for (const u of room.people) out.set(u.id, { id: u.id, name: u.name });
  }
  out.delete(chat.me.id);
  return [...out.values()];
}
