// The message timeline of the room in view.
//
// Rendering is a keyed reconcile: every row (message, pending outbox entry,
// day separator, "new" divider) has a key and a signature; a row is rebuilt
// only when its signature changes, and rows are moved, inserted or removed so
// the list matches the model. That keeps focus, selection and scroll position
// stable while messages stream in, get edited or collect reactions.
//
// Scrolling: the view sticks to the bottom when it was there; otherwise the
// first visible row is kept at the same place on screen (so loading older
// messages above does not make the view jump) and new messages from others
// raise a "new messages" pill. Older history is requested as the top comes
// near, until the room's first message.

import { h, $ } from './dom.js';
import { icon, reactionIcon, REACTION_LABELS } from './icons.js';
import { dayKey, formatDay, formatFull, formatTime, paintAvatar, renderText, snippet } from './format.js';

const GROUP_GAP_MS = 5 * 60 * 1000;
const NEAR_TOP_PX = 600;
const AT_BOTTOM_PX = 48;
const STATUS_LABEL = { pending: 'Sending…', sent: 'Sent', saved: 'Saved', failed: 'Not sent' };
const STATUS_ICON = { pending: 'clock', sent: 'check', saved: 'checkDouble', failed: 'alert' };

export class MessageList {
  /**
   * @param chat the Chat model
   * @param handlers {onReply(rec), onEdit(rec), onDelete(rec), onReact(rec, anchor), focusComposer()}
   */
  constructor(chat, handlers) {
    this.chat = chat;
    this.handlers = handlers;
    this.scroller = $('messages');
    this.list = $('message-items');
    this.edge = $('history-edge');
    this.pill = $('new-pill');
    this.announcer = $('announcer');
    this.room = null;
    this.rows = new Map();       // key -> {el, sig}
    this.atBottom = true;
    this.newCount = 0;
    this.dividerAfter = 0;       // seq: the "new" divider goes before the first later message by others
    this.frame = 0;
    this.pendingChange = null;

    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.scroller.addEventListener('click', (e) => this.onClick(e));
    this.scroller.addEventListener('keydown', (e) => this.onKey(e));
    this.pill.addEventListener('click', () => this.scrollToBottom(true));
    new ResizeObserver(() => {
      if (this.atBottom) this.stickToBottom();
    }).observe(this.scroller);
  }

  /** Shows another room: a fresh list, at the first unread message or the bottom. */
  show(room) {
    this.room = room;
    this.rows.clear();
    this.list.replaceChildren();
    this.newCount = 0;
    this.pill.hidden = true;
    this.dividerAfter = room && room.unread > 0 ? room.lastRead : 0;
    this.scroller.setAttribute('aria-label', room ? `Messages in #${room.name}` : 'Messages');
    this.render({ kind: 'replace' });
    const divider = this.rows.get('unread');
    if (divider) {
      this.scroller.scrollTop = Math.max(0, divider.el.offsetTop - 80);
      this.atBottom = this.isAtBottom();
    } else {
      this.stickToBottom();
    }
  }

  /** Schedules a render for a model change (coalesced to one per frame). */
  update(change) {
    if (!this.room || change.room !== this.room.name) return;
    if (change.kind === 'append' && change.fromOthers && change.records) this.announce(change.records);
    const prev = this.pendingChange;
    this.pendingChange = {
      kind: prev && prev.kind !== change.kind ? 'mixed' : change.kind,
      fromOthers: (prev?.fromOthers ?? 0) + (change.fromOthers ?? 0),
      mine: Boolean(prev?.mine || change.mine),
    };
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        const c = this.pendingChange;
        this.pendingChange = null;
        this.render(c);
      });
    }
  }

  /** Renders now (flushing a scheduled render). */
  flush() {
    if (!this.frame) return;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    const c = this.pendingChange;
    this.pendingChange = null;
    this.render(c);
  }

  // ---- rendering ------------------------------------------------------------------

  render(change) {
    const wasAtBottom = this.atBottom;
    const anchor = wasAtBottom ? null : this.findAnchor();
    const rows = this.room ? this.describeRows() : [];
    this.reconcile(rows);
    this.renderEdge();
    if (change?.mine && change.kind === 'append') {
      this.dividerAfter = 0;
      this.removeDivider();
      this.stickToBottom();
    } else if (wasAtBottom) {
      this.stickToBottom();
    } else if (anchor) {
      const row = this.rows.get(anchor.key);
      if (row) this.scroller.scrollTop = row.el.offsetTop - anchor.offset;
    }
    if (change?.fromOthers && !this.atBottom) {
      this.newCount += change.fromOthers;
      this.showPill();
    }
    this.maybeLoadOlder();
    this.reportRead();
  }

  removeDivider() {
    const row = this.rows.get('unread');
    if (!row) return;
    row.el.remove();
    this.rows.delete('unread');
  }

  /** The rows of the room, in order, each {key, sig, build()}. */
  describeRows() {
    const room = this.room;
    const chat = this.chat;
    const rows = [];
    let prev = null;
    let lastDay = null;
    let dividerPlaced = this.dividerAfter === 0;

    const add = (item) => {
      const day = dayKey(item.time);
      if (day !== lastDay) {
        lastDay = day;
        const label = formatDay(item.time);
        rows.push({ key: `day:${day}`, sig: label, build: () => dayRow(label) });
        prev = null;
      }
      if (!dividerPlaced && item.rec && item.rec.seq > this.dividerAfter && item.rec.author_id !== chat.me.id) {
        dividerPlaced = true;
        rows.push({ key: 'unread', sig: 'unread', build: () => h('li', { class: 'unread-divider', role: 'separator' }, h('span', { text: 'New' })) });
        prev = null;
      }
      const groupStart = !prev || prev.authorId !== item.authorId || item.time - prev.time > GROUP_GAP_MS ||
        Boolean(item.replyTo) || prev.deleted !== item.deleted;
      rows.push(item.row(groupStart));
      prev = item;
    };

    for (const seq of room.seqs) {
      const rec = room.get(seq);
      const status = chat.statusOf(room, rec);
      const change = chat.changesOf(room, rec);
      const quoted = rec.reply_to ? room.get(rec.reply_to) : null;
      add({
        rec, time: rec.sent_at, authorId: rec.author_id, replyTo: rec.reply_to, deleted: rec.deleted,
        row: (groupStart) => ({
          key: `s${seq}`,
          sig: `${rec._v}|${groupStart}|${status}|${change ? `${change.state}.${change.text}` : '-'}|${quoted ? `${quoted.seq}.${quoted._v}` : '-'}`,
          build: () => this.messageRow(rec, { groupStart, status, change, quoted }),
        }),
      });
    }
    for (const entry of chat.pendingFor(room.name)) {
      const quoted = entry.reply_to ? room.get(entry.reply_to) : null;
      add({
        rec: null, time: entry.created_at, authorId: chat.me.id, replyTo: entry.reply_to, deleted: false,
        row: (groupStart) => ({
          key: `c${entry.client_msg_id}`,
          sig: `${entry.state}|${entry.error}|${groupStart}|${quoted ? quoted._v : '-'}`,
          build: () => this.pendingRow(entry, { groupStart, quoted }),
        }),
      });
    }
    return rows;
  }

  reconcile(rows) {
    const wanted = new Set(rows.map((r) => r.key));
    for (const [key, row] of this.rows) {
      if (!wanted.has(key)) {
        row.el.remove();
        this.rows.delete(key);
      }
    }
    let cursor = this.list.firstChild;
    for (const r of rows) {
      let row = this.rows.get(r.key);
      if (!row || row.sig !== r.sig) {
        const el = r.build();
        el.dataset.key = r.key;
        if (row) {
          const focus = focusPath(row.el);
          row.el.replaceWith(el);
          if (cursor === row.el) cursor = el;
          restoreFocus(el, focus);
        }
        row = { el, sig: r.sig };
        this.rows.set(r.key, row);
      }
      if (row.el === cursor) cursor = cursor.nextSibling;
      else this.list.insertBefore(row.el, cursor);
    }
  }

  /**
   * One message. `change`: my unsaved changes to it (chat.changesOf): the row
   * says so, and shows a pending edit's text, until the server has stored them.
   */
  messageRow(rec, { groupStart, status, change, quoted }) {
    const mine = rec.author_id === this.chat.me.id;
    const li = h('li', {
      class: `msg${groupStart ? ' group-start' : ''}${mine ? ' mine' : ''}${rec.deleted ? ' deleted' : ''}`,
      id: `msg-${rec.seq}`, tabindex: '-1', dataset: { seq: rec.seq, author: rec.author },
      'aria-label': `${rec.author}, ${formatFull(rec.sent_at)}`,
    });
    if (status) li.dataset.status = status;
    if (change) li.dataset.change = change.state;
    li.append(this.gutter(rec.author, rec.sent_at, groupStart));
    const body = h('div', { class: 'msg-body' });
    if (groupStart) body.append(meta(rec.author, rec.sent_at, mine));
    if (rec.reply_to) body.append(this.quote(rec.reply_to, quoted));
    if (rec.deleted) {
      body.append(h('p', { class: 'text tombstone' }, 'This message was deleted.'));
    } else {
      const text = h('p', { class: 'text' }, renderText(change?.text ?? rec.text));
      if (rec.edited_at || change?.text != null) text.append(' ', h('span', { class: 'edited', title: `Edited ${formatFull(rec.edited_at)}`, text: '(edited)' }));
      body.append(text);
      if (rec.reactions.length) body.append(this.reactionChips(rec));
    }
    if (change) body.append(h('span', { class: 'change-pending', role: 'status', text: 'Saving your change…' }));
    else if (status && !rec.deleted) body.append(statusBadge(status));
    li.append(body);
    if (!rec.deleted) li.append(this.actions(mine));
    return li;
  }

  pendingRow(entry, { groupStart, quoted }) {
    const failed = entry.state === 'failed';
    const li = h('li', {
      class: `msg mine pending${groupStart ? ' group-start' : ''}${failed ? ' failed' : ''}`,
      tabindex: '-1', dataset: { cid: entry.client_msg_id, status: entry.state },
      'aria-label': `${this.chat.me.username}, ${failed ? 'not sent' : 'sending'}`,
    });
    li.append(this.gutter(this.chat.me.username, entry.created_at, groupStart));
    const body = h('div', { class: 'msg-body' });
    if (groupStart) body.append(meta(this.chat.me.username, entry.created_at, true));
    if (entry.reply_to) body.append(this.quote(entry.reply_to, quoted));
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

  gutter(author, time, groupStart) {
    if (groupStart) {
      const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' });
      paintAvatar(avatar, author);
      return h('div', { class: 'gutter' }, avatar);
    }
    return h('div', { class: 'gutter' }, h('time', { class: 'hover-time', datetime: new Date(time).toISOString(), text: formatTime(time) }));
  }

  quote(seq, quoted) {
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

  reactionChips(rec) {
    const wrap = h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' });
    const order = this.chat.protocol.reactions;
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

  actions(mine) {
    const button = (action, name, label) => h('button', {
      type: 'button', class: 'icon-button small', dataset: { action }, 'aria-label': label, title: label,
      'aria-haspopup': action === 'react' ? 'menu' : null,
    }, icon(name));
    return h('div', { class: 'msg-actions', role: 'toolbar', 'aria-label': 'Message actions' },
      button('react', 'react', 'Add a reaction'),
      button('reply', 'reply', 'Reply'),
      mine ? button('edit', 'edit', 'Edit') : null,
      mine ? button('delete', 'trash', 'Delete') : null);
  }

  renderEdge() {
    const room = this.room;
    let state;
    if (!room) state = 'none';
    else if (!room.loaded || room.loadingOlder) state = 'loading';
    else if (room.hasMore) state = 'more';
    else state = 'start';
    if (this.edge.dataset.state === state && this.edge.dataset.room === room?.name) return;
    this.edge.dataset.state = state;
    this.edge.dataset.room = room?.name ?? '';
    const content = {
      none: () => [],
      loading: () => [h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { text: room.loaded ? 'Loading older messages…' : 'Loading messages…' })],
      more: () => [h('button', { type: 'button', class: 'link-button', dataset: { action: 'older' } }, 'Load older messages')],
      start: () => [
        h('div', { class: 'room-intro-icon', 'aria-hidden': 'true' }, icon('hash')),
        h('h2', { class: 'room-intro-title', text: `Welcome to #${room.name}` }),
        h('p', { class: 'room-intro-text', text: `This is the very beginning of #${room.name}.` }),
      ],
    }[state]();
    this.edge.replaceChildren(...content);
  }

  // ---- scrolling ---------------------------------------------------------------------

  isAtBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= AT_BOTTOM_PX;
  }

  stickToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.atBottom = true;
    this.newCount = 0;
    this.pill.hidden = true;
  }

  /**
   * Runs a layout change outside the timeline (the composer growing) without
   * losing the bottom: measuring the composer collapses it for a moment, and
   * the timeline's scroll position would be clamped on the way.
   */
  keepBottom(change) {
    const was = this.atBottom;
    change();
    if (was) this.stickToBottom();
  }

  scrollToBottom(smooth) {
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
    this.atBottom = true;
    this.newCount = 0;
    this.pill.hidden = true;
    this.reportRead();
  }

  /** The first message at least partly in view. Separators are no anchors: they move when messages go in above them. */
  findAnchor() {
    const top = this.scroller.scrollTop;
    for (const child of this.list.children) {
      if (!child.classList.contains('msg')) continue;
      if (child.offsetTop + child.offsetHeight > top) return { key: child.dataset.key, offset: child.offsetTop - top };
    }
    return null;
  }

  onScroll() {
    this.atBottom = this.isAtBottom();
    if (this.atBottom && this.newCount) this.newCount = 0;
    this.showPill();
    this.maybeLoadOlder();
    this.reportRead();
  }

  maybeLoadOlder() {
    const room = this.room;
    if (!room || !room.hasMore || room.loadingOlder || !room.loaded) return;
    if (this.scroller.scrollTop > NEAR_TOP_PX && this.scroller.scrollHeight > this.scroller.clientHeight + NEAR_TOP_PX) return;
    if (this.chat.loadOlder(room.name)) this.renderEdge();
  }

  /** "3 new messages" while away from the bottom; "Jump to latest" when far up without news. */
  showPill() {
    const s = this.scroller;
    const farUp = s.scrollHeight - s.scrollTop - s.clientHeight > 2 * s.clientHeight;
    const text = this.newCount ? `${this.newCount} new message${this.newCount === 1 ? '' : 's'}` : farUp ? 'Jump to latest' : '';
    this.pill.hidden = this.atBottom || !text;
    if (this.pill.hidden || this.pill.dataset.text === text) return;
    this.pill.dataset.text = text;
    this.pill.replaceChildren(icon('arrowDown'), ` ${text}`);
  }

  reportRead() {
    if (this.room && this.atBottom && document.visibilityState === 'visible') this.chat.markRead(this.room.name);
  }

  /** Scrolls to a message, loading older pages until it is there. */
  async jumpTo(seq) {
    const room = this.room;
    for (let tries = 0; room === this.room && !room.get(seq) && room.hasMore && tries < 200; tries++) {
      if (!room.loadingOlder && !this.chat.loadOlder(room.name)) break;
      await new Promise((resolve) => setTimeout(resolve, 120));
      this.flush();
    }
    this.flush();
    const row = this.rows.get(`s${seq}`);
    if (!row) {
      this.chat.notice('That message is no longer available.', 'warn');
      return;
    }
    row.el.scrollIntoView({ block: 'center', behavior: 'smooth' });
    row.el.classList.remove('flash');
    void row.el.offsetWidth; // restart the animation
    row.el.classList.add('flash');
    row.el.focus({ preventScroll: true });
  }

  // ---- interaction -----------------------------------------------------------------

  recordOf(el) {
    const li = el.closest('li.msg');
    if (!li || !this.room) return null;
    if (li.dataset.seq) return { li, rec: this.room.get(Number(li.dataset.seq)) };
    return { li, cid: Number(li.dataset.cid) };
  }

  onClick(e) {
    const target = e.target.closest('[data-action]');
    if (!target) return;
    const action = target.dataset.action;
    if (action === 'older') {
      this.chat.loadOlder(this.room?.name);
      this.renderEdge();
      return;
    }
    const found = this.recordOf(target);
    if (!found) return;
    const { rec, cid } = found;
    switch (action) {
      case 'react': return this.handlers.onReact(rec, target);
      case 'toggle-reaction': return this.chat.react(this.room.name, rec.seq, target.dataset.reaction);
      case 'reply': return this.handlers.onReply(rec);
      case 'edit': return this.handlers.onEdit(rec);
      case 'delete': return this.handlers.onDelete(rec);
      case 'jump': return this.jumpTo(Number(target.dataset.target));
      case 'retry': return this.chat.retry(cid);
      case 'discard': return this.chat.discard(cid);
      default: return undefined;
    }
  }

  onKey(e) {
    const items = () => [...this.list.querySelectorAll('li.msg')];
    const current = e.target.closest?.('li.msg');
    const onItem = current && e.target === current;
    if (e.key === 'Escape') {
      e.preventDefault();
      this.handlers.focusComposer();
      return;
    }
    if (!['ArrowUp', 'ArrowDown', 'Home', 'End'].includes(e.key)) return;
    if (!onItem && e.target !== this.scroller) return;
    const all = items();
    if (!all.length) return;
    e.preventDefault();
    let i = current ? all.indexOf(current) : all.length;
    if (e.key === 'ArrowUp') i = Math.max(0, i - 1);
    else if (e.key === 'ArrowDown') i = Math.min(all.length - 1, i + 1);
    else if (e.key === 'Home') i = 0;
    else i = all.length - 1;
    all[i].focus();
    all[i].scrollIntoView({ block: 'nearest' });
    if (i === 0) this.maybeLoadOlder();
  }

  /** Tells screen readers about messages from others in the room in view. */
  announce(records) {
    for (const rec of records) {
      if (rec.author_id === this.chat.me.id || rec.deleted) continue;
      this.announcer.append(h('p', { text: `${rec.author}: ${snippet(rec.text, 200)}` }));
    }
    while (this.announcer.childElementCount > 5) this.announcer.firstElementChild.remove();
  }
}

function dayRow(label) {
  return h('li', { class: 'day-divider', role: 'separator' }, h('span', { text: label }));
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

/** Where focus is inside a row, so a rebuilt row can take it back. */
function focusPath(el) {
  const active = document.activeElement;
  if (!active || !el.contains(active)) return null;
  if (active === el) return { self: true };
  return { action: active.dataset.action, reaction: active.dataset.reaction };
}

function restoreFocus(el, path) {
  if (!path) return;
  if (path.self) return el.focus({ preventScroll: true });
  const sel = path.reaction ? `[data-reaction="${CSS.escape(path.reaction)}"]` : `[data-action="${CSS.escape(path.action ?? '')}"]`;
  (el.querySelector(sel) ?? el).focus({ preventScroll: true });
}
