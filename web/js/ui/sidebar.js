// The room list, as the server keeps it for the user (room_list): pending
// invitations (accept or decline), rooms (public "#name", private rooms by
// title) and direct conversations (by the other people's names), each with
// its unread badge and a way to leave. Every tab of the user shows the same
// list, in the same order (chat.listedRooms).

import { h, $ } from './dom.js';
import { icon } from './icons.js';
import { paintAvatar } from './format.js';

export class Sidebar {
  /** @param handlers {navigate(address), leave(address)} */
  constructor(chat, handlers) {
    this.chat = chat;
    this.handlers = handlers;
    this.rooms = $('room-list');
    this.direct = $('direct-list');
    this.invites = $('invite-list');
    this.invitesSection = $('invites-section');
    this.lifetime = new AbortController();
    $('room-nav').addEventListener('click', (e) => this.onClick(e), { signal: this.lifetime.signal });
  }

  /** Removes the listener and the rooms of the user who signed out. */
  dispose() {
    this.lifetime.abort();
    this.rooms.replaceChildren();
    this.direct.replaceChildren();
    this.invites.replaceChildren();
    this.invitesSection.hidden = true;
  }

  onClick(e) {
    const leave = e.target.closest('[data-leave]');
    if (leave) {
      e.preventDefault();
      this.handlers.leave(leave.dataset.leave);
      return;
    }
    const accept = e.target.closest('[data-accept]');
    if (accept) {
      const entry = this.chat.invites.get(Number(accept.dataset.accept));
      if (entry) this.handlers.navigate(entry.address);
      return;
    }
    const decline = e.target.closest('[data-decline]');
    if (decline) {
      this.chat.declineInvite(Number(decline.dataset.decline));
      return;
    }
    const link = e.target.closest('a[data-room]');
    if (link && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0) {
      e.preventDefault();
      this.handlers.navigate(link.dataset.room);
    }
  }

  render() {
    const listed = this.chat.listedRooms();
    const rooms = listed.filter((r) => r.kind !== 'direct').map((r) => this.roomItem(r));
    const direct = listed.filter((r) => r.kind === 'direct').map((r) => this.roomItem(r));
    if (!rooms.length) rooms.push(h('li', { class: 'room-empty', text: 'No rooms yet. Join or create one with +.' }));
    if (!direct.length) direct.push(h('li', { class: 'room-empty', text: 'No conversations yet.' }));
    this.rooms.replaceChildren(...rooms);
    this.direct.replaceChildren(...direct);
    const invites = [...this.chat.invites.values()].sort((a, b) => a.title.localeCompare(b.title)).map((e) => this.inviteItem(e));
    this.invites.replaceChildren(...invites);
    this.invitesSection.hidden = invites.length === 0;
  }

  roomItem(room) {
    const me = this.chat.me.id;
    const current = room.name === this.chat.current;
    const unread = current ? 0 : room.unread;
    const label = room.label(me);
    const named = room.kind === 'public' ? `#${label}` : label;
    const badge = unread > 0
      ? h('span', { class: 'badge', 'aria-label': `${unread} unread`, text: unread > 99 ? '99+' : String(unread) })
      : null;
    let mark;
    if (room.kind === 'public') {
      mark = h('span', { class: 'hash', 'aria-hidden': 'true', text: '#' });
    } else if (room.kind === 'private') {
      mark = h('span', { class: 'hash', 'aria-hidden': 'true' }, icon('lock'));
    } else {
      mark = h('span', { class: 'avatar tiny', 'aria-hidden': 'true' });
      paintAvatar(mark, room.directPeople(me)[0]?.name ?? '?');
    }
    return h('li', { class: `room-item${current ? ' current' : ''}${unread ? ' has-unread' : ''}`, dataset: { kind: room.kind } },
      h('a', {
        href: `/r/${encodeURIComponent(room.name)}`, class: 'room-link', dataset: { room: room.name },
        'aria-current': current ? 'page' : null, 'aria-label': room.kind === 'private' ? `${label} (private)` : null,
      },
      mark,
      h('span', { class: 'room-link-name', text: label }),
      badge),
      h('button', { type: 'button', class: 'icon-button small leave', dataset: { leave: room.name }, 'aria-label': `Leave ${named}`, title: `Leave ${named}` }, icon('close')));
  }

  /** A pending invitation: the room's title, who invited, and the two answers. */
  inviteItem(e) {
    const title = e.title || 'a private room';
    return h('li', { class: `invite-item${e.declining ? ' declining' : ''}`, dataset: { roomId: e.room_id } },
      h('span', { class: 'hash', 'aria-hidden': 'true' }, icon(e.room_type === 'public' ? 'hash' : 'lock')),
      h('span', { class: 'invite-text' },
        h('span', { class: 'invite-title', text: title }),
        h('span', { class: 'invite-from', text: e.invited_by?.name ? `from ${e.invited_by.name}` : 'invitation' })),
      h('span', { class: 'invite-actions' },
        h('button', { type: 'button', class: 'primary small', dataset: { accept: e.room_id }, 'aria-label': `Accept the invitation to ${title}`, disabled: Boolean(e.declining) }, 'Accept'),
        h('button', { type: 'button', class: 'secondary small', dataset: { decline: e.room_id }, 'aria-label': `Decline the invitation to ${title}`, disabled: Boolean(e.declining) }, 'Decline')));
  }
}
