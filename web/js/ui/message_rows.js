// Row builders of the timeline: pure DOM construction. Each function takes
// the data of one row and returns a new element; none reads the model, keeps
// state or registers a listener (the timeline listens on its container and
// finds the row by its data attributes: data-action, data-seq, data-cid).

import { h } from './dom.js';
import { icon, reactionIcon, REACTION_LABELS } from './icons.js';
import { formatFull, formatTime, paintAvatar, renderText, roomEventText, snippet } from './format.js';

const STATUS_LABEL = { pending: 'Sending…', sent: 'Sent', saved: 'Saved', failed: 'Not sent' };
const STATUS_ICON = { pending: 'clock', sent: 'check', saved: 'checkDouble', failed: 'alert' };

/**
 * One message. `change`: my unsaved changes to it (receipts.changesOf): the
 * row says so, and shows a pending edit's text, until the server has stored them.
 * `deletedBy`: for a tombstone, the name of who deleted it when not its
 * author. `canDelete`: a moderator's delete action on others' messages.
 * @param me {id, username} the signed-in user
 * @param reactions the protocol's reactions, in order (bit i of my_reactions is reactions[i])
 */
export function messageRow(rec, { groupStart, status, change, quoted, deletedBy, canDelete }, { me, reactions }) {
  const mine = rec.author_id === me.id;
  const li = h('li', {
    class: `msg${groupStart ? ' group-start' : ''}${mine ? ' mine' : ''}${rec.deleted ? ' deleted' : ''}`,
    id: `msg-${rec.seq}`, tabindex: '-1', dataset: { seq: rec.seq, author: rec.author },
    'aria-label': `${rec.author}, ${formatFull(rec.sent_at)}`,
  });
  if (status) li.dataset.status = status;
  if (change) li.dataset.change = change.state;
  li.append(gutter(rec.author, rec.sent_at, groupStart));
  const body = h('div', { class: 'msg-body' });
  if (groupStart) body.append(meta(rec.author, rec.sent_at, mine));
  if (rec.reply_to) body.append(quote(rec.reply_to, quoted));
  if (rec.deleted) {
    body.append(h('p', { class: 'text tombstone' }, deletedBy ? `This message was deleted by ${deletedBy}.` : 'This message was deleted.'));
  } else {
    const text = h('p', { class: 'text' }, renderText(change?.text ?? rec.text));
    if (rec.edited_at || change?.text != null) text.append(' ', h('span', { class: 'edited', title: `Edited ${formatFull(rec.edited_at)}`, text: '(edited)' }));
    body.append(text);
    if (rec.reactions.length) body.append(reactionChips(rec, reactions));
  }
  if (change) body.append(h('span', { class: 'change-pending', role: 'status', text: 'Saving your change…' }));
  else if (status && !rec.deleted) body.append(statusBadge(status));
  li.append(body);
  if (!rec.deleted) li.append(actions(mine, canDelete ?? mine));
  return li;
}

/** A message of mine still in the outbox, with no server copy on screen. @param me {username} */
export function pendingRow(entry, { groupStart, quoted }, { me }) {
  const failed = entry.state === 'failed';
  const li = h('li', {
    class: `msg mine pending${groupStart ? ' group-start' : ''}${failed ? ' failed' : ''}`,
    tabindex: '-1', dataset: { cid: entry.client_msg_id, status: entry.state },
    'aria-label': `${me.username}, ${failed ? 'not sent' : 'sending'}`,
  });
  li.append(gutter(me.username, entry.created_at, groupStart));
  const body = h('div', { class: 'msg-body' });
  if (groupStart) body.append(meta(me.username, entry.created_at, true));
  if (entry.reply_to) body.append(quote(entry.reply_to, quoted));
  body.append(h('p', { class: 'text' }, renderText(entry.text)));
  if (failed) {
    body.append(h('p', { class: 'send-failed', role: 'alert' },
      icon('alert'), ` Not sent: ${entry.error ?? 'refused by the server'} `,
      h('button', { type: 'button', class: 'link-button', dataset: { action: 'retry' } }, 'Retry'), ' · ',
      h('button', { type: 'button', class: 'link-button', dataset: { action: 'discard' } }, 'Discard')));
  }
  body.append(statusBadge(entry.state === 'sent' ? 'sent' : entry.state));
  li.append(body);
  return li;
}

const EVENT_ICON = {
  joined: 'plus', left: 'signOut', invited: 'plus', declined: 'close', kicked: 'close', banned: 'close', unbanned: 'check',
  muted: 'lock', unmuted: 'check', role_set: 'users', ownership_given: 'users', title_set: 'edit', topic_set: 'edit',
  kind_set: 'lock', deleted: 'trash',
};

/** A room event (someone joined, was invited, removed; a new topic...): one compact, muted line. */
export function eventRow(ev) {
  const text = roomEventText(ev);
  return h('li', {
    class: 'sys-line', id: `event-${ev.seq}`, dataset: { seq: ev.seq, action: ev.action },
    'aria-label': `${text}, ${formatFull(ev.at)}`,
  },
  h('span', { class: 'sys-icon', 'aria-hidden': 'true' }, icon(EVENT_ICON[ev.action] ?? 'hash')),
  h('span', { class: 'sys-text', text }),
  h('time', { datetime: new Date(ev.at).toISOString(), title: formatFull(ev.at), text: formatTime(ev.at) }));
}

export function dayRow(label) {
  return h('li', { class: 'day-divider', role: 'separator' }, h('span', { text: label }));
}

/** The "New" divider above the first unread message. */
export function unreadRow() {
  return h('li', { class: 'unread-divider', role: 'separator' }, h('span', { text: 'New' }));
}

/**
 * The top edge of the timeline.
 * @param state none | loading | more | start (the room's first message is on
 *   screen) | denied (the server refused the join: nothing of the room is known)
 * @param label the room's name as shown: "#name", a title, people
 * @return the edge's children
 */
export function edgeContent(state, room, label) {
  switch (state) {
    case 'loading': return [h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { text: room.loaded ? 'Loading older messages…' : 'Loading messages…' })];
    case 'more': return [h('button', { type: 'button', class: 'link-button', dataset: { action: 'older' } }, 'Load older messages')];
    case 'start': return [
      h('div', { class: 'room-intro-icon', 'aria-hidden': 'true' }, icon(room.kind === 'public' ? 'hash' : room.kind === 'direct' ? 'at' : 'lock')),
      h('h2', { class: 'room-intro-title', text: room.kind === 'direct' ? label : `Welcome to ${label}` }),
      h('p', { class: 'room-intro-text', text: room.kind === 'direct' ? `This is the very beginning of your conversation with ${label}.` : `This is the very beginning of ${label}.` }),
    ];
    case 'denied': return [
      h('div', { class: 'room-intro-icon', 'aria-hidden': 'true' }, icon('lock')),
      h('h2', { class: 'room-intro-title', text: "You don't have access to this room, or it doesn't exist" }),
      h('p', { class: 'room-intro-text', text: 'Check the link, or ask someone in the room to invite you.' }),
    ];
    default: return [];
  }
}

function gutter(author, time, groupStart) {
  if (groupStart) {
    const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' });
    paintAvatar(avatar, author);
    return h('div', { class: 'gutter' }, avatar);
  }
  return h('div', { class: 'gutter' }, h('time', { class: 'hover-time', datetime: new Date(time).toISOString(), text: formatTime(time) }));
}

function quote(seq, quoted) {
  const label = quoted
    ? (quoted.deleted ? 'a deleted message' : `${quoted.author}: ${snippet(quoted.text, 80)}`)
    : 'an earlier message';
  return h('button', {
    type: 'button', class: 'quote', dataset: { action: 'jump', target: seq },
    'aria-label': `In reply to ${label}. Show it.`,
  },
  icon('reply'),
  quoted && !quoted.deleted ? h('span', { class: 'quote-author', text: quoted.author }) : null,
  h('span', { class: 'quote-text', text: quoted ? (quoted.deleted ? 'Message deleted' : snippet(quoted.text, 140)) : 'An earlier message' }));
}

function reactionChips(rec, order) {
  const wrap = h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' });
  for (const { reaction, count } of rec.reactions) {
    const mine = (rec.my_reactions & (1 << order.indexOf(reaction))) !== 0;
    const who = count === 1 ? (mine ? 'you' : '1 person') : `${count} people${mine ? ', including you' : ''}`;
    wrap.append(h('button', {
      type: 'button', class: `chip${mine ? ' mine' : ''}`, 'aria-pressed': String(mine),
      dataset: { action: 'toggle-reaction', reaction }, title: `${REACTION_LABELS[reaction]}: ${who}`,
      'aria-label': `${REACTION_LABELS[reaction]}: ${who}`,
    }, reactionIcon(reaction), h('span', { class: 'count', text: String(count) })));
  }
  wrap.append(h('button', {
    type: 'button', class: 'chip add', dataset: { action: 'react' }, 'aria-label': 'Add a reaction',
    'aria-haspopup': 'menu', title: 'Add a reaction',
  }, icon('react')));
  return wrap;
}

/** The toolbar of a message: react and reply; edit my own; delete mine, or anyone's when I moderate. */
function actions(mine, canDelete) {
  const button = (action, name, label) => h('button', {
    type: 'button', class: 'icon-button small', dataset: { action }, 'aria-label': label, title: label,
    'aria-haspopup': action === 'react' ? 'menu' : null,
  }, icon(name));
  return h('div', { class: 'msg-actions', role: 'toolbar', 'aria-label': 'Message actions' },
    button('react', 'react', 'Add a reaction'),
    button('reply', 'reply', 'Reply'),
    mine ? button('edit', 'edit', 'Edit') : null,
    canDelete ? button('delete', 'trash', mine ? 'Delete' : 'Delete (as a moderator)') : null);
}

function meta(author, time, mine) {
  return h('div', { class: 'meta' },
    h('span', { class: 'author', text: author }),
    mine ? h('span', { class: 'you-tag', text: 'you' }) : null,
    h('time', { datetime: new Date(time).toISOString(), title: formatFull(time), text: formatTime(time) }));
}

function statusBadge(status) {
  return h('span', { class: `status status-${status}`, title: STATUS_LABEL[status], 'aria-label': STATUS_LABEL[status], role: 'img' },
    icon(STATUS_ICON[status]));
}
