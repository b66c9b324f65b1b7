// The "join or create a room" dialog. A public room: a name typed in,
// checked against the server's naming rule before anything is sent, joins
// the room of that name or creates it (create_room); the server's directory
// of public rooms, filtered by what is typed, joins one with a click. A
// private room: a title (any text), and create_room gives it an address of
// its own; nobody finds it but the people invited to it.

import { h, $ } from './dom.js';
import { api } from '../api.js';
import { normalizeRoomName, roomNameRule } from '../protocol.js';

export class RoomDialog {
  /**
   * @param chat the Chat model (createRoom)
   * @param handlers {navigate(address): shows the room, isJoined(name) -> bool}
   */
  constructor(chat, handlers) {
    this.chat = chat;
    this.handlers = handlers;
    this.dialog = $('room-dialog');
    this.input = $('room-input');
    this.error = $('room-error');
    this.list = $('existing-rooms');
    this.submit = $('room-join');
    this.directory = [];
    this.opened = 0;             // counts openings: a late answer is for an old one
    this.busy = false;
    this.lifetime = new AbortController();
    const { signal } = this.lifetime;
    $('room-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.go(this.input.value);
    }, { signal });
    $('room-cancel').addEventListener('click', () => this.dialog.close(), { signal });
    this.input.addEventListener('input', () => {
      this.error.textContent = '';
      this.renderDirectory();
      this.renderSubmit();
    }, { signal });
    for (const radio of this.dialog.querySelectorAll('input[name="room-kind"]')) {
      radio.addEventListener('change', () => this.renderKind(), { signal });
    }
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

  get kind() {
    return $('room-kind-private').checked ? 'private' : 'public';
  }

  async open() {
    const opening = ++this.opened;
    this.input.value = '';
    this.error.textContent = '';
    this.busy = false;
    $('room-kind-public').checked = true;
    this.renderKind();
    this.directory = null;
    this.renderDirectory();
    this.dialog.showModal();
    this.input.focus();
    let rooms;
    try {
      ({ rooms } = await api.rooms());
      rooms.sort((a, b) => b.online - a.online || b.last_seq - a.last_seq || a.name.localeCompare(b.name));
    } catch {
      rooms = undefined;
    }
    if (opening !== this.opened || this.lifetime.signal.aborted) return;
    this.directory = rooms;
    this.renderDirectory();
  }

  /** The form for the kind chosen: a public name with its rule and the directory, or a private title. */
  renderKind() {
    const pub = this.kind === 'public';
    $('room-input-label').textContent = pub ? 'Room name' : 'Title';
    $('room-input-hash').hidden = !pub;
    this.input.classList.toggle('no-hash', !pub);
    this.input.placeholder = pub ? 'e.g. design-review' : 'e.g. Release planning';
    $('room-hint').textContent = pub
      ? 'Letters, digits, “.”, “_” and “-”, starting with a letter or digit. A name nobody uses yet creates the room.'
      : 'Any title. The room gets an address of its own; you invite the people who may see it.';
    $('existing-rooms-block').hidden = !pub;
    this.error.textContent = '';
    this.renderSubmit();
  }

  renderSubmit() {
    let label = 'Create';
    if (this.kind === 'public') {
      const name = normalizeRoomName(this.input.value);
      const known = name && (this.handlers.isJoined(name) || this.directory?.some((r) => r.name === name));
      label = known || !name ? 'Join' : 'Create';
    }
    this.submit.textContent = this.busy ? 'Creating…' : label;
    this.submit.disabled = this.busy;
  }

  /** The directory, narrowed to the names that contain what is typed. */
  renderDirectory() {
    if (this.directory === null) {
      this.list.replaceChildren(h('li', { class: 'muted', text: 'Loading…' }));
      return;
    }
    if (this.directory === undefined) {
      this.list.replaceChildren(h('li', { class: 'muted', text: 'The room directory is not reachable right now.' }));
      return;
    }
    const typed = this.input.value.trim().replace(/^#/, '').toLowerCase();
    const shown = this.directory.filter((r) => !typed || r.name.includes(typed));
    const items = shown.map((r) => this.directoryItem(r));
    if (!items.length) {
      items.push(h('li', { class: 'muted', text: this.directory.length ? 'No public room has that name yet: create it.' : 'No public rooms yet: name one above to create it.' }));
    }
    this.list.replaceChildren(...items);
  }

  directoryItem(r) {
    return h('li', {},
      h('button', { type: 'button', class: 'existing-room', dataset: { room: r.name } },
        h('span', { class: 'hash', 'aria-hidden': 'true', text: '#' }),
        h('span', { class: 'existing-name', text: r.name }),
        h('span', { class: 'existing-meta', text: `${r.online} online` }),
        this.handlers.isJoined(r.name) ? h('span', { class: 'you-tag', text: 'joined' }) : null));
  }

  /** A room of the directory, or one of mine: shown (joined) at once. */
  join(name) {
    this.dialog.close();
    this.handlers.navigate(name);
  }

  /**
   * Submits what is typed: a public name the server knows is joined, a new
   * one is created; a private title always creates a room. The dialog stays
   * open with the reason when the server (or the naming rule) refuses.
   */
  async go(raw) {
    if (this.busy) return;
    if (this.kind === 'public') {
      const name = normalizeRoomName(raw);
      if (!name) {
        this.error.textContent = roomNameRule();
        this.input.focus();
        return;
      }
      if (this.handlers.isJoined(name) || this.directory?.some((r) => r.name === name)) {
        this.join(name);
        return;
      }
      await this.create(name, 'public');
      return;
    }
    const title = raw.trim();
    if (!title) {
      this.error.textContent = 'A private room needs a title.';
      this.input.focus();
      return;
    }
    await this.create(title, 'private');
  }

  async create(name, kind) {
    const opening = this.opened;
    this.busy = true;
    this.renderSubmit();
    try {
      const room = await this.chat.createRoom(name, kind);
      if (opening !== this.opened || this.lifetime.signal.aborted) return;
      this.dialog.close();
      this.handlers.navigate(room.name);
    } catch (e) {
      if (opening !== this.opened || this.lifetime.signal.aborted) return;
      if (e.code === 'room_name_taken') {
        this.join(name); // someone made it meanwhile: join it
        return;
      }
      this.error.textContent = e.message;
      this.input.focus();
    } finally {
      if (opening === this.opened) {
        this.busy = false;
        this.renderSubmit();
      }
    }
  }
}
