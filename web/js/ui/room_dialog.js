// The "join or create a room" dialog: a name typed in, checked against the
// server's naming rule before anything is sent, or a room picked from the
// server's directory.

import { h, $ } from './dom.js';
import { api } from '../api.js';
import { normalizeRoomName, roomNameRule } from '../protocol.js';

export class RoomDialog {
  /** @param handlers {navigate(name): shows the room, isJoined(name) -> bool} */
  constructor(handlers) {
    this.handlers = handlers;
    this.dialog = $('room-dialog');
    this.input = $('room-input');
    this.error = $('room-error');
    this.list = $('existing-rooms');
    this.opened = 0;             // counts openings: a late directory answer is for an old one
    this.lifetime = new AbortController();
    const { signal } = this.lifetime;
    $('room-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.join(this.input.value);
    }, { signal });
    $('room-cancel').addEventListener('click', () => this.dialog.close(), { signal });
    this.input.addEventListener('input', () => {
      this.error.textContent = '';
    }, { signal });
    this.list.addEventListener('click', (e) => {
      const pick = e.target.closest('button[data-room]');
      if (pick) this.join(pick.dataset.room);
    }, { signal });
  }

  dispose() {
    this.lifetime.abort();
    if (this.dialog.open) this.dialog.close();
    this.list.replaceChildren();
  }

  async open() {
    const opening = ++this.opened;
    this.input.value = '';
    this.error.textContent = '';
    this.list.replaceChildren(h('li', { class: 'muted', text: 'Loading…' }));
    this.dialog.showModal();
    this.input.focus();
    let items;
    try {
      const { rooms } = await api.rooms();
      rooms.sort((a, b) => b.online - a.online || b.last_seq - a.last_seq || a.name.localeCompare(b.name));
      items = rooms.map((r) => this.directoryItem(r));
      if (!items.length) items = [h('li', { class: 'muted', text: 'No rooms yet: name one above to create it.' })];
    } catch {
      items = [h('li', { class: 'muted', text: 'The room directory is not reachable right now.' })];
    }
    if (opening === this.opened && !this.lifetime.signal.aborted) this.list.replaceChildren(...items);
  }

  directoryItem(r) {
    return h('li', {},
      h('button', { type: 'button', class: 'existing-room', dataset: { room: r.name } },
        h('span', { class: 'hash', 'aria-hidden': 'true', text: '#' }),
        h('span', { class: 'existing-name', text: r.name }),
        h('span', { class: 'existing-meta', text: `${r.online} online · ${r.last_seq} message${r.last_seq === 1 ? '' : 's'}` }),
        this.handlers.isJoined(r.name) ? h('span', { class: 'you-tag', text: 'joined' }) : null));
  }

  /** Shows the room, or keeps the dialog open with the rule when the server would refuse the name. */
  join(raw) {
    const name = normalizeRoomName(raw);
    if (!name) {
      this.error.textContent = roomNameRule();
      this.input.focus();
      return;
    }
    this.dialog.close();
    this.handlers.navigate(name);
  }
}
