// Who is online in the room in view, with their role there (owner,
// moderator) and whether they are muted.

import { h, $ } from './dom.js';
import { paintAvatar } from './format.js';

export class Members {
  constructor(chat) {
    this.chat = chat;
    this.list = $('member-list');
    this.heading = $('members-heading');
    this.headerCount = $('room-online');
  }

  /** It registers nothing; this only clears what the signed-out user saw. */
  dispose() {
    this.list.replaceChildren();
    this.heading.textContent = '';
    this.headerCount.textContent = '';
  }

  render(room) {
    if (room?.denied) room = null; // nothing of a room the server would not open is shown
    const online = room ? [...room.online] : [];
    const me = this.chat.me.id;
    online.sort(([a, an], [b, bn]) => (b === me) - (a === me) || an.localeCompare(bn));
    const typing = new Set(room ? [...room.typing.keys()] : []);
    // A large room's list names only some of those online; the count is the server's.
    const count = Math.max(room?.onlineCount ?? 0, online.length);
    this.heading.textContent = `Online — ${count.toLocaleString()}`;
    this.headerCount.textContent = room && room.joined ? `${count.toLocaleString()} online` : '';
    // While disconnected the list is only the last known state.
    this.list.classList.toggle('stale', Boolean(room && !room.joined));
    this.list.replaceChildren(...online.map(([id, name]) => {
      const avatar = h('span', { class: 'avatar small', 'aria-hidden': 'true' });
      paintAvatar(avatar, name);
      const person = room.members.get(id);
      const role = person?.role && person.role !== 'member' && room.kind !== 'direct' ? person.role : null;
      return h('li', { class: 'member', dataset: { user: name } },
        h('span', { class: 'avatar-wrap' }, avatar, h('span', { class: 'presence-dot', 'aria-hidden': 'true' })),
        h('span', { class: 'member-name', text: name }),
        id === me ? h('span', { class: 'you-tag', text: 'you' }) : null,
        role ? h('span', { class: `role-tag role-${role}`, text: role === 'moderator' ? 'mod' : role, title: role }) : null,
        person?.muted ? h('span', { class: 'role-tag state-muted', text: 'muted' }) : null,
        typing.has(id) ? h('span', { class: 'member-typing', text: 'typing…' }) : null);
    }));
    if (count > online.length) {
      this.list.append(h('li', { class: 'member-more', text: `and ${(count - online.length).toLocaleString()} more` }));
    }
    if (!online.length && room) {
      this.list.append(h('li', { class: 'member-empty', text: room.joined ? 'Nobody else is here.' : 'Not connected.' }));
    }
  }
}
