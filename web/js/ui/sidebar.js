// The room list: links to rooms, unread badges, leaving.

import { h, $ } from './dom.js';
import { icon } from './icons.js';

export class Sidebar {
  /** @param handlers {navigate(name), leave(name)} */
  constructor(chat, handlers) {
    this.chat = chat;
    this.handlers = handlers;
    this.list = $('room-list');
    this.lifetime = new AbortController();
    this.list.addEventListener('click', (e) => {
      const leave = e.target.closest('[data-leave]');
      if (leave) {
        e.preventDefault();
        this.handlers.leave(leave.dataset.leave);
        return;
      }
      const link = e.target.closest('a[data-room]');
      if (link && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0) {
        e.preventDefault();
        this.handlers.navigate(link.dataset.room);
      }
    }, { signal: this.lifetime.signal });
  }

  /** Removes the listener and the rooms of the user who signed out. */
  dispose() {
    this.lifetime.abort();
    this.list.replaceChildren();
  }

  render() {
    const items = [];
    const me = this.chat.me.id;
    for (const room of this.chat.listedRooms()) {
      const current = room.name === this.chat.current;
      const unread = current ? 0 : room.unread;
      const label = room.label(me);
      const named = room.kind === 'public' ? `#${label}` : label;
      const badge = unread > 0
        ? h('span', { class: 'badge', 'aria-label': `${unread} unread`, text: unread > 99 ? '99+' : String(unread) })
        : null;
      items.push(h('li', { class: `room-item${current ? ' current' : ''}${unread ? ' has-unread' : ''}` },
        h('a', { href: `/r/${encodeURIComponent(room.name)}`, class: 'room-link', dataset: { room: room.name }, 'aria-current': current ? 'page' : null },
          h('span', { class: 'hash', 'aria-hidden': 'true', text: '#' }),
          h('span', { class: 'room-link-name', text: label }),
          badge),
        h('button', { type: 'button', class: 'icon-button small leave', dataset: { leave: room.name }, 'aria-label': `Leave ${named}`, title: `Leave ${named}` }, icon('close'))));
    }
    if (!items.length) items.push(h('li', { class: 'room-empty', text: 'No rooms yet. Join one with +.' }));
    this.list.replaceChildren(...items);
  }
}
