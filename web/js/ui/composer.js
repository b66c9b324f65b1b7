// The message box: write, send, reply, edit.
//
// Keys: Enter sends, Shift+Enter breaks the line, ArrowUp in an empty box edits
// my last message, Escape cancels a reply or an edit. The byte counter
// appears near the protocol's limit (max_text_bytes, 4000 bytes of UTF-8).
// Drafts are kept per room while the page is open.

import { $ } from './dom.js';
import { icon } from './icons.js';
import { snippet, utf8Length } from './format.js';

const COUNTER_FROM = 0.8; // show the counter from 80 % of the limit

export class Composer {
  /** @param handlers {confirmDelete(rec) -> Promise<bool>, keepBottom(fn): runs a resize keeping the timeline's bottom} */
  constructor(chat, handlers) {
    this.chat = chat;
    this.handlers = handlers;
    this.form = $('composer');
    this.input = $('composer-input');
    this.send = $('composer-send');
    this.counter = $('composer-counter');
    this.context = $('composer-context');
    this.contextText = $('composer-context-text');
    this.contextIcon = $('composer-context-icon');
    this.room = null;
    this.mode = null;            // null | {kind: 'reply'|'edit', rec}
    this.drafts = new Map();
    this.limit = chat.protocol.limits?.max_text_bytes ?? 4000;

    this.lifetime = new AbortController();
    const { signal } = this.lifetime;
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    }, { signal });
    this.input.addEventListener('keydown', (e) => this.onKey(e), { signal });
    this.input.addEventListener('input', () => this.onInput(), { signal });
    this.input.addEventListener('blur', () => this.chat.typing.stop(), { signal });
    $('composer-context-cancel').addEventListener('click', () => this.cancelMode(true), { signal });
  }

  /** Removes the listeners and leaves the box empty for whoever signs in next. */
  dispose() {
    this.lifetime.abort();
    this.mode = null;
    this.context.hidden = true;
    this.input.value = '';
    this.room = null;
  }

  /** Shows the composer of `room`; null (no room joined) disables it. */
  show(room) {
    if (this.room && this.mode?.kind !== 'edit') this.drafts.set(this.room.name, this.input.value);
    this.cancelMode(false);
    this.room = room;
    this.input.value = room ? this.drafts.get(room.name) ?? '' : '';
    this.setAccess(room);
    this.refresh();
  }

  /**
   * Whether I may write in the room in view: not in a room I may not see,
   * nor while muted there (the server would refuse it). Called whenever the
   * room's standing may have changed.
   */
  setAccess(room) {
    if (room !== this.room) return;
    let why = null;
    if (!room) why = 'Join a room to start chatting';
    else if (room.denied) why = 'You cannot write here';
    else if (room.muted) why = 'You are muted in this room: you can read, but not write';
    const label = room ? (room.kind === 'public' ? `#${room.name}` : room.label(this.chat.me.id)) : '';
    const placeholder = why ?? `Message ${label}`;
    if (this.input.placeholder === placeholder && this.input.disabled === Boolean(why)) return;
    this.input.placeholder = placeholder;
    this.input.disabled = Boolean(why);
    if (why) this.cancelMode(false);
    this.refresh();
  }

  focus() {
    this.input.focus();
  }

  // ---- modes ----------------------------------------------------------------------

  reply(rec) {
    if (this.mode?.kind === 'edit') this.cancelMode(false);
    this.mode = { kind: 'reply', rec };
    this.showContext('reply', 'Replying to ', rec.author, `: ${snippet(rec.text, 90)}`);
    this.focus();
  }

  edit(rec) {
    if (this.mode?.kind !== 'edit') this.drafts.set(this.room.name, this.input.value);
    this.mode = { kind: 'edit', rec };
    this.showContext('edit', 'Editing your message', '', ' · Enter to save, Escape to cancel');
    this.input.value = rec.text;
    this.refresh();
    this.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  showContext(kind, before, strong, after) {
    this.context.hidden = false;
    this.context.dataset.kind = kind;
    this.contextIcon.replaceChildren(icon(kind === 'reply' ? 'reply' : 'edit'));
    const b = document.createElement('strong');
    b.textContent = strong;
    this.contextText.replaceChildren(before, b, after);
  }

  cancelMode(restoreDraft) {
    const wasEdit = this.mode?.kind === 'edit';
    this.mode = null;
    this.context.hidden = true;
    if (wasEdit && restoreDraft) {
      this.input.value = this.drafts.get(this.room.name) ?? '';
      this.refresh();
    }
    if (restoreDraft) this.focus();
  }

  // ---- keys and input ---------------------------------------------------------------

  onKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      this.submit();
    } else if (e.key === 'Escape' && this.mode) {
      e.preventDefault();
      this.cancelMode(true);
    } else if (e.key === 'ArrowUp' && this.input.value === '' && !this.mode) {
      const rec = this.lastOwnMessage();
      if (rec) {
        e.preventDefault();
        this.edit(rec);
      }
    }
  }

  onInput() {
    this.refresh();
    if (!this.room) return;
    if (this.mode?.kind !== 'edit') this.chat.typing.update(this.room.name, this.input.value.trim() !== '');
  }

  /** Grows the box with its text, updates the counter and the send button. */
  refresh() {
    const text = this.input.value;
    this.handlers.keepBottom(() => {
      this.input.style.height = 'auto';
      this.input.style.height = `${Math.min(this.input.scrollHeight, Math.round(innerHeight * 0.4))}px`;
    });
    const bytes = utf8Length(text);
    const over = bytes > this.limit;
    if (bytes >= this.limit * COUNTER_FROM) {
      this.counter.textContent = over
        ? `${(bytes - this.limit).toLocaleString()} over the limit`
        : `${(this.limit - bytes).toLocaleString()} left`;
      this.counter.title = `Messages can hold ${this.limit.toLocaleString()} bytes of text`;
    } else {
      this.counter.textContent = '';
    }
    this.counter.classList.toggle('over', over);
    this.form.classList.toggle('over-limit', over);
    this.send.disabled = over || text.trim() === '' || this.input.disabled;
  }

  lastOwnMessage() {
    const room = this.room;
    // My newest message is still on its way (no seq yet): it cannot be edited
    // yet, and an older one is not the one I mean.
    if (this.chat.receipts.pendingFor(room.name).length) return null;
    for (let i = room.seqs.length - 1; i >= 0; i--) {
      const rec = room.get(room.seqs[i]);
      if (rec.author_id === this.chat.me.id && !rec.deleted) return rec;
    }
    return null;
  }

  // ---- sending ------------------------------------------------------------------------

  async submit() {
    if (!this.room) return undefined;
    const text = this.input.value;
    if (text.trim() === '') {
      if (this.mode?.kind === 'edit') return this.deleteFromEdit();
      return undefined;
    }
    if (utf8Length(text) > this.limit) {
      this.chat.notice(`Messages can hold at most ${this.limit.toLocaleString()} bytes of text.`, 'warn');
      return undefined;
    }
    const mode = this.mode;
    if (mode?.kind === 'edit') {
      if (text !== mode.rec.text && !this.chat.sender.edit(this.room.name, mode.rec.seq, text)) return undefined;
      this.cancelMode(true);
      return undefined;
    }
    this.input.value = '';
    this.drafts.delete(this.room.name);
    this.cancelMode(false);
    this.refresh();
    this.focus();
    this.chat.sender.sendMessage(this.room.name, text, mode?.kind === 'reply' ? mode.rec.seq : 0);
    return undefined;
  }

  async deleteFromEdit() {
    const rec = this.mode.rec;
    if (await this.handlers.confirmDelete(rec)) {
      this.chat.sender.remove(this.room.name, rec.seq);
      this.cancelMode(true);
    }
  }
}
