// "New direct message": pick 1 to 7 people by name (user_search.js) and open
// the conversation of them and me (open_direct). The same people always
// share one conversation, so a known one opens without asking the server.

import { h, $ } from './dom.js';
import { icon } from './icons.js';
import { knownPeople, UserSearch } from './user_search.js';

export class DirectDialog {
  /** @param chat the Chat model (openDirect); @param handlers {navigate(address)} */
  constructor(chat, handlers) {
    this.chat = chat;
    this.handlers = handlers;
    this.dialog = $('direct-dialog');
    this.picked = new Map();     // id -> {id, name}
    this.pickedList = $('direct-picked');
    this.error = $('direct-error');
    this.submit = $('direct-open');
    this.max = (chat.protocol.limits?.max_direct_people ?? 8) - 1;
    this.busy = false;
    this.opened = 0;
    this.lifetime = new AbortController();
    const { signal } = this.lifetime;
    this.search = new UserSearch($('direct-input'), $('direct-results'), {
      known: () => knownPeople(chat),
      exclude: () => new Set([chat.me.id, ...this.picked.keys()]),
      onPick: (u) => this.add(u),
    });
    $('direct-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.go();
    }, { signal });
    $('direct-cancel').addEventListener('click', () => this.dialog.close(), { signal });
    this.pickedList.addEventListener('click', (e) => {
      const remove = e.target.closest('[data-remove]');
      if (remove) this.remove(Number(remove.dataset.remove));
    }, { signal });
  }

  dispose() {
    this.lifetime.abort();
    this.search.dispose();
    if (this.dialog.open) this.dialog.close();
    this.picked.clear();
    this.pickedList.replaceChildren();
  }

  open() {
    this.opened++;
    this.picked.clear();
    this.busy = false;
    this.error.textContent = '';
    this.search.reset();
    this.render();
    this.dialog.showModal();
    $('direct-input').focus();
  }

  add(u) {
    if (this.picked.size >= this.max) {
      this.error.textContent = `A conversation has at most ${this.max + 1} people, you included.`;
      return;
    }
    this.error.textContent = '';
    this.picked.set(u.id, u);
    this.render();
  }

  remove(id) {
    this.picked.delete(id);
    this.render();
  }

  render() {
    this.pickedList.replaceChildren(...[...this.picked.values()].map((u) => h('li', { class: 'picked-person', dataset: { userId: u.id } },
      h('span', { text: u.name }),
      h('button', { type: 'button', class: 'icon-button small', dataset: { remove: u.id }, 'aria-label': `Remove ${u.name}` }, icon('close')))));
    this.submit.disabled = this.busy || this.picked.size === 0;
    this.submit.textContent = this.busy ? 'Opening…' : 'Open conversation';
  }

  async go() {
    if (this.busy || this.picked.size === 0) return;
    const opening = this.opened;
    this.busy = true;
    this.error.textContent = '';
    this.render();
    try {
      const room = await this.chat.openDirect([...this.picked.keys()]);
      if (opening !== this.opened || this.lifetime.signal.aborted) return;
      this.dialog.close();
      this.handlers.navigate(room.name);
    } catch (e) {
      if (opening === this.opened) this.error.textContent = e.message;
    } finally {
      if (opening === this.opened) {
        this.busy = false;
        this.render();
      }
    }
  }
}
