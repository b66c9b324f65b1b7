// The settings of the room in view: its title, topic and kind, its people
// with their roles (from room_members and the room events since), and what
// the user's standing lets them do (access.js): invite someone found by
// name, remove, ban and unban, mute and unmute, make a moderator or a
// member, give ownership, leave, delete the room. Every change is a
// manage_room through the outbox; the panel shows the room as the server's
// events leave it, live, so it never shows a change the server refused.

import { h, $ } from './dom.js';
import { icon } from './icons.js';
import { paintAvatar } from './format.js';
import { confirmDialog } from './feedback.js';
import { knownPeople, UserSearch } from './user_search.js';
import { actionsOn, canDeleteRoom, canInvite, canModerate } from '../access.js';
import { normalizeRoomName } from '../protocol.js';

const STATE_ORDER = { member: 0, invited: 1, banned: 2 };
const ROLE_ORDER = { owner: 0, moderator: 1, member: 2 };

export class RoomSettings {
  /** @param handlers {leave(address): asks and leaves, label(room): its name as shown} */
  constructor(chat, handlers) {
    this.chat = chat;
    this.handlers = handlers;
    this.dialog = $('settings-dialog');
    this.members = $('settings-member-list');
    this.error = $('settings-error');
    this.room = null;
    this.expanded = 0;           // the person whose actions are open
    this.shownTitle = null;      // what the fields last showed, so a re-render keeps what is being typed
    this.shownTopic = null;
    this.lifetime = new AbortController();
    const { signal } = this.lifetime;
    const on = (id, type, fn) => $(id).addEventListener(type, fn, { signal });
    on('settings-close', 'click', () => this.dialog.close());
    on('settings-form', 'submit', (e) => e.preventDefault());
    on('settings-name-save', 'click', () => this.saveTitle());
    on('settings-topic-save', 'click', () => this.saveTopic());
    on('settings-name', 'keydown', (e) => e.key === 'Enter' && (e.preventDefault(), this.saveTitle()));
    on('settings-topic', 'keydown', (e) => e.key === 'Enter' && (e.preventDefault(), this.saveTopic()));
    on('settings-kind-public', 'change', () => this.setKind('public'));
    on('settings-kind-private', 'change', () => this.setKind('private'));
    on('settings-leave', 'click', () => this.leave());
    on('settings-delete', 'click', () => this.deleteRoom());
    on('settings-member-list', 'click', (e) => this.onMemberClick(e));
    this.dialog.addEventListener('close', () => {
      this.room = null;
      this.expanded = 0;
    }, { signal });
    chat.addEventListener('room', (e) => this.room && e.detail.room === this.room.name && this.render(), { signal });
    chat.addEventListener('presence', (e) => this.room && e.detail.room === this.room.name && this.render(), { signal });
    chat.addEventListener('removed', (e) => e.detail.room === this.room && this.dialog.close(), { signal });
    this.invite = new UserSearch($('settings-invite-input'), $('settings-invite-results'), {
      known: () => knownPeople(chat),
      exclude: () => new Set([chat.me.id, ...[...(this.room?.members.values() ?? [])].filter((m) => m.state !== 'banned').map((m) => m.id)]),
      onPick: (u) => this.act({ action: 'invited', user_id: u.id }),
      empty: 'Nobody by that name, or they are in the room already.',
    });
  }

  dispose() {
    this.lifetime.abort();
    this.invite.dispose();
    if (this.dialog.open) this.dialog.close();
    this.members.replaceChildren();
    this.room = null;
  }

  open(room) {
    if (!room || room.denied) return;
    this.room = room;
    this.expanded = 0;
    this.shownTitle = null;
    this.shownTopic = null;
    this.error.textContent = '';
    this.invite.reset();
    this.render();
    this.dialog.showModal();
    $('settings-close').focus();
  }

  render() {
    const room = this.room;
    if (!room) return;
    const me = this.chat.me;
    const mod = canModerate(room, me);
    const direct = room.kind === 'direct';
    $('settings-title').textContent = direct ? 'Conversation' : `${this.handlers.label(room)}: settings`;

    const name = $('settings-name');
    $('settings-title-block').hidden = direct;
    if (room.title !== this.shownTitle || document.activeElement !== name) name.value = room.title;
    this.shownTitle = room.title;
    name.readOnly = !mod;
    $('settings-name-save').hidden = !mod;

    const topic = $('settings-topic');
    if (room.topic !== this.shownTopic || document.activeElement !== topic) topic.value = room.topic;
    this.shownTopic = room.topic;
    topic.readOnly = !mod;
    topic.placeholder = mod ? 'What the room is about' : 'No topic';
    $('settings-topic-save').hidden = !mod;

    $('settings-kind-block').hidden = direct;
    $('settings-kind-public').checked = room.kind === 'public';
    $('settings-kind-private').checked = room.kind === 'private';
    for (const id of ['settings-kind-public', 'settings-kind-private']) $(id).disabled = !mod;
    $('settings-address').textContent = direct ? 'A direct conversation: its people are fixed.'
      : room.kind === 'private' ? 'Private: only its members and the people they invite can open it.'
        : `Public: #${room.name} is in the server's directory.`;

    $('settings-invite-block').hidden = !canInvite(room);
    this.invite.render(); // who may still be invited changes with the room's people
    $('settings-delete').hidden = !canDeleteRoom(room);
    $('settings-leave').textContent = direct ? 'Leave conversation' : 'Leave room';
    this.renderMembers();
  }

  renderMembers() {
    const room = this.room;
    const me = this.chat.me;
    const people = [...room.members.values()].sort((a, b) => (STATE_ORDER[a.state] ?? 3) - (STATE_ORDER[b.state] ?? 3)
      || (ROLE_ORDER[a.role] ?? 3) - (ROLE_ORDER[b.role] ?? 3) || a.name.localeCompare(b.name));
    const count = people.filter((p) => p.state === 'member').length;
    $('settings-members-heading').textContent = `Members — ${count}`;
    const items = people.map((person) => {
      const actions = actionsOn(room, me, person);
      const open = this.expanded === person.id && actions.length > 0;
      const avatar = h('span', { class: 'avatar small', 'aria-hidden': 'true' });
      paintAvatar(avatar, person.name);
      const tags = [];
      if (person.id === me.id) tags.push(h('span', { class: 'you-tag', text: 'you' }));
      if (person.state === 'member' && person.role !== 'member') tags.push(h('span', { class: `role-tag role-${person.role}`, text: person.role }));
      if (person.state === 'invited') tags.push(h('span', { class: 'role-tag state-invited', text: 'invited' }));
      if (person.state === 'banned') tags.push(h('span', { class: 'role-tag state-banned', text: 'banned' }));
      if (person.muted) tags.push(h('span', { class: 'role-tag state-muted', text: 'muted' }));
      return h('li', { class: `member-row${open ? ' open' : ''}`, dataset: { user: person.name, state: person.state, role: person.role } },
        h('span', { class: 'avatar-wrap' }, avatar, room.online.has(person.id) ? h('span', { class: 'presence-dot', 'aria-hidden': 'true' }) : null),
        h('span', { class: 'member-name', text: person.name }),
        h('span', { class: 'member-tags' }, tags),
        actions.length ? h('button', {
          type: 'button', class: 'icon-button small member-menu', dataset: { menu: person.id },
          'aria-expanded': String(open), 'aria-label': `Manage ${person.name}`, title: `Manage ${person.name}`,
        }, icon('more')) : null,
        open ? h('div', { class: 'member-actions', role: 'group', 'aria-label': `What to do with ${person.name}` },
          actions.map((a) => h('button', {
            type: 'button', class: `${a.danger ? 'danger' : 'secondary'} small`,
            dataset: { act: a.action, role: a.role ?? '', user: person.id },
          }, a.label))) : null);
    });
    if (!items.length) items.push(h('li', { class: 'muted', text: 'Loading the members…' }));
    else if (room.membersTotal > people.length) {
      items.push(h('li', { class: 'muted member-more', text: `and ${(room.membersTotal - people.length).toLocaleString()} more` }));
    }
    this.members.replaceChildren(...items);
  }

  onMemberClick(e) {
    const menu = e.target.closest('[data-menu]');
    if (menu) {
      const id = Number(menu.dataset.menu);
      this.expanded = this.expanded === id ? 0 : id;
      this.renderMembers();
      this.members.querySelector(`[data-menu="${id}"]`)?.focus();
      return;
    }
    const act = e.target.closest('[data-act]');
    if (!act) return;
    const person = this.room?.members.get(Number(act.dataset.user));
    if (!person) return;
    this.actOn(person, act.dataset.act, act.dataset.role || undefined);
  }

  /** An action on a person; the ones that cannot be undone in one step ask first. */
  async actOn(person, action, role) {
    const room = this.room;
    const label = this.handlers.label(room);
    const ask = {
      kicked: person.state === 'invited'
        ? null
        : { title: `Remove ${person.name}?`, text: room.kind === 'private' ? `${person.name} leaves ${label} and needs a new invitation to come back.` : `${person.name} leaves ${label}; they may join it again.`, ok: 'Remove' },
      banned: { title: `Ban ${person.name}?`, text: `${person.name} leaves ${label} and cannot come back until unbanned.`, ok: 'Ban' },
      ownership_given: { title: `Make ${person.name} the owner?`, text: `You become a moderator of ${label}; only the owner can give ownership back.`, ok: 'Give ownership' },
    }[action];
    if (ask && !(await confirmDialog(ask))) return;
    if (this.room !== room) return;
    this.expanded = 0;
    this.act({ action, user_id: person.id, role });
  }

  /** Sends a manage_room for the room shown (through the outbox); the room's event shows the result. */
  act(fields) {
    if (!this.room) return;
    this.error.textContent = '';
    this.chat.sender.manage(this.room.name, fields);
    this.renderMembers();
  }

  saveTitle() {
    const room = this.room;
    const title = $('settings-name').value.trim();
    if (!room || !canModerate(room, this.chat.me) || title === room.title) return;
    if (!title) {
      this.error.textContent = 'A room needs a title.';
      return;
    }
    this.act({ action: 'title_set', text: title });
  }

  saveTopic() {
    const room = this.room;
    const topic = $('settings-topic').value.trim();
    if (!room || !canModerate(room, this.chat.me) || topic === room.topic) return;
    this.act({ action: 'topic_set', text: topic });
  }

  setKind(kind) {
    const room = this.room;
    if (!room || room.kind === kind) return;
    if (kind === 'public' && !normalizeRoomName(room.title)) {
      this.error.textContent = 'A public room is found by its name: give it a title of letters, digits, “.”, “_” or “-” first.';
      this.render();
      return;
    }
    this.act({ action: 'kind_set', room_type: kind });
  }

  leave() {
    const room = this.room;
    if (!room) return;
    this.dialog.close();
    this.handlers.leave(room.name);
  }

  async deleteRoom() {
    const room = this.room;
    if (!room || !canDeleteRoom(room)) return;
    const label = this.handlers.label(room);
    const yes = await confirmDialog({
      title: `Delete ${label}?`,
      text: `Its messages are gone for everyone, and everyone in it is told. This cannot be undone.`,
      ok: 'Delete room',
    });
    if (!yes || this.room !== room) return;
    this.act({ action: 'deleted' });
  }
}
