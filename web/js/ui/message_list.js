// The message timeline of the room in view: which rows it shows, scrolling,
// and what a click or a key on a row does.
//
// Rendering describes every row (message, pending outbox entry, room event,
// day separator, "new" divider) with a key and a signature, and hands the list to
// the keyed reconciler (reconciler.js), which rebuilds a row only when its
// signature changes; the rows themselves are built by message_rows.js. That
// keeps focus, selection and scroll position stable while messages stream
// in, get edited or collect reactions.
//
// Scrolling: the view sticks to the bottom when it was there; otherwise the
// first visible row is kept at the same place on screen (so loading older
// messages above does not make the view jump) and new messages from others
// raise a "new messages" pill. Older history is requested as the top comes
// near, until the room's first message.
//
// Lifetime: every listener, the resize observer, the scheduled frame and a
// jump in progress belong to the view and end with dispose(); showing another
// room cancels a jump in progress.

import { h, $ } from './dom.js';
import { icon } from './icons.js';
import { dayKey, formatDay, snippet } from './format.js';
import { dayRow, edgeContent, eventRow, messageRow, pendingRow, unreadRow } from './message_rows.js';
import { Reconciler } from './reconciler.js';
import { canDeleteMessage } from '../access.js';

/** "#name" for a public room, else its title or its people. */
function roomLabel(room, myId) {
  return room.kind === 'public' ? `#${room.name}` : room.label(myId);
}

const GROUP_GAP_MS = 5 * 60 * 1000;
const NEAR_TOP_PX = 600;
const AT_BOTTOM_PX = 48;
const MAX_JUMP_PAGES = 200;      // a jump gives up after this many older pages

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
    this.rows = new Reconciler(this.list);
    this.rowContext = { me: chat.me, reactions: chat.protocol.reactions };
    this.atBottom = true;
    this.newCount = 0;
    this.dividerAfter = 0;       // seq: the "new" divider goes before the first later message by others
    this.frame = 0;
    this.pendingChange = null;
    this.lifetime = new AbortController();
    this.shown = new AbortController();  // aborted when another room is shown: ends a jump in progress

    const { signal } = this.lifetime;
    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true, signal });
    this.scroller.addEventListener('click', (e) => this.onClick(e), { signal });
    this.scroller.addEventListener('keydown', (e) => this.onKey(e), { signal });
    this.pill.addEventListener('click', () => this.scrollToBottom(true), { signal });
    this.resizes = new ResizeObserver(() => {
      if (this.atBottom) this.stickToBottom();
    });
    this.resizes.observe(this.scroller);
  }

  /** Removes every listener, the observer and the scheduled frame, and empties the timeline. */
  dispose() {
    this.lifetime.abort();
    this.shown.abort();
    this.resizes.disconnect();
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.pendingChange = null;
    this.room = null;
    this.rows.clear();
    this.announcer.replaceChildren();
    this.pill.hidden = true;
  }

  /** Shows another room: a fresh list, at the first unread message or the bottom. */
  show(room) {
    this.shown.abort();
    this.shown = new AbortController();
    this.room = room;
    this.rows.clear();
    this.newCount = 0;
    this.pill.hidden = true;
    this.dividerAfter = room && room.unread > 0 ? room.lastRead : 0;
    this.scroller.setAttribute('aria-label', room && !room.denied ? `Messages in ${roomLabel(room, this.chat.me.id)}` : 'Messages');
    this.render({ kind: 'replace' });
    const divider = this.rows.element('unread');
    if (divider) {
      this.scroller.scrollTop = Math.max(0, divider.offsetTop - 80);
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
    // A room whose join was refused shows nothing: not even what an earlier visit left.
    this.rows.reconcile(this.room && !this.room.denied ? this.describeRows() : []);
    this.renderEdge();
    if (change?.mine && change.kind === 'append') {
      this.dividerAfter = 0;
      this.rows.remove('unread');
      this.stickToBottom();
    } else if (wasAtBottom) {
      this.stickToBottom();
    } else if (anchor) {
      const el = this.rows.element(anchor.key);
      if (el) this.scroller.scrollTop = el.offsetTop - anchor.offset;
    }
    if (change?.fromOthers && !this.atBottom) {
      this.newCount += change.fromOthers;
      this.showPill();
    }
    this.maybeLoadOlder();
    this.reportRead();
  }

  /** The rows of the room, in order, each {key, sig, build()}. */
  describeRows() {
    const room = this.room;
    const chat = this.chat;
    const receipts = chat.receipts;
    const ctx = this.rowContext;
    const rows = [];
    let prev = null;
    let lastDay = null;
    let dividerPlaced = this.dividerAfter === 0;

    const checkDay = (time) => {
      const day = dayKey(time);
      if (day === lastDay) return;
      lastDay = day;
      const label = formatDay(time);
      rows.push({ key: `day:${day}`, sig: label, build: () => dayRow(label) });
      prev = null;
    };
    const add = (item) => {
      checkDay(item.time);
      if (!dividerPlaced && item.rec && item.rec.seq > this.dividerAfter && item.rec.author_id !== chat.me.id) {
        dividerPlaced = true;
        rows.push({ key: 'unread', sig: 'unread', build: unreadRow });
        prev = null;
      }
      const groupStart = !prev || prev.authorId !== item.authorId || item.time - prev.time > GROUP_GAP_MS ||
        Boolean(item.replyTo) || prev.deleted !== item.deleted;
      rows.push(item.row(groupStart));
      prev = item;
    };

    // Room events (someone joined, a new topic) take their place among the
    // messages by seq, as compact lines that end a group of messages.
    const events = room.shownEvents();
    let next = 0;
    const addEvents = (below) => {
      for (; next < events.length && events[next].seq < below; next++) {
        const ev = events[next];
        checkDay(ev.at);
        rows.push({ key: `e${ev.seq}`, sig: `${ev.action}|${ev.text}|${ev.invitee}`, build: () => eventRow(ev) });
        prev = null;
      }
    };

    for (const seq of room.seqs) {
      addEvents(seq);
      const rec = room.get(seq);
      const status = receipts.statusOf(room, rec);
      const change = receipts.changesOf(room, rec);
      const quoted = rec.reply_to ? room.get(rec.reply_to) : null;
      const deletedBy = rec.deleted && rec.deleted_by && rec.deleted_by !== rec.author_id ? this.nameOf(rec.deleted_by) : null;
      const canDelete = canDeleteMessage(room, chat.me, rec);
      add({
        rec, time: rec.sent_at, authorId: rec.author_id, replyTo: rec.reply_to, deleted: rec.deleted,
        row: (groupStart) => ({
          key: `s${seq}`,
          sig: `${rec._v}|${groupStart}|${status}|${change ? `${change.state}.${change.text}` : '-'}|${quoted ? `${quoted.seq}.${quoted._v}` : '-'}|${deletedBy}|${canDelete}`,
          build: () => messageRow(rec, { groupStart, status, change, quoted, deletedBy, canDelete }, ctx),
        }),
      });
    }
    addEvents(Infinity);
    for (const entry of receipts.pendingFor(room.name)) {
      const quoted = entry.reply_to ? room.get(entry.reply_to) : null;
      add({
        rec: null, time: entry.created_at, authorId: chat.me.id, replyTo: entry.reply_to, deleted: false,
        row: (groupStart) => ({
          key: `c${entry.client_msg_id}`,
          sig: `${entry.state}|${entry.error}|${groupStart}|${quoted ? quoted._v : '-'}`,
          build: () => pendingRow(entry, { groupStart, quoted }, ctx),
        }),
      });
    }
    return rows;
  }

  /** The name of a person of the room in view, for a tombstone. */
  nameOf(userId) {
    if (userId === this.chat.me.id) return this.chat.me.username;
    return this.room?.members.get(userId)?.name ?? 'a moderator';
  }

  renderEdge() {
    const room = this.room;
    let state;
    if (!room) state = 'none';
    else if (room.denied) state = 'denied';
    else if (!room.loaded || room.loadingOlder) state = 'loading';
    else if (room.hasMore) state = 'more';
    else state = 'start';
    if (this.edge.dataset.state === state && this.edge.dataset.room === room?.name) return;
    this.edge.dataset.state = state;
    this.edge.dataset.room = room?.name ?? '';
    this.edge.replaceChildren(...edgeContent(state, room, room ? roomLabel(room, this.chat.me.id) : ''));
  }

  /** The room in view has a new address: the edge names it. */
  renamed() {
    this.renderEdge();
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
    if (this.chat.history.loadOlder(room.name)) this.renderEdge();
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

  /**
   * Scrolls to a message, loading older pages until it is there. Each page is
   * awaited (history.settled: its page, a refusal, a lost connection or the
   * request's timeout), never polled for; showing another room or disposing
   * of the view ends the jump quietly.
   */
  async jumpTo(seq) {
    const room = this.room;
    const { signal } = this.shown;
    const history = this.chat.history;
    for (let pages = 0; !room.get(seq) && room.hasMore && pages < MAX_JUMP_PAGES; pages++) {
      if (!room.loadingOlder && !history.loadOlder(room.name)) break;
      if (!(await history.settled(room, signal))) return;
      this.flush();
    }
    this.flush();
    const el = this.rows.element(`s${seq}`);
    if (!el) {
      this.chat.notice('That message is no longer available.', 'warn');
      return;
    }
    el.scrollIntoView({ block: 'center', behavior: 'smooth' });
    el.classList.remove('flash');
    void el.offsetWidth; // restart the animation
    el.classList.add('flash');
    el.focus({ preventScroll: true });
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
      this.chat.history.loadOlder(this.room?.name);
      this.renderEdge();
      return;
    }
    const found = this.recordOf(target);
    if (!found) return;
    const { rec, cid } = found;
    switch (action) {
      case 'react': return this.handlers.onReact(rec, target);
      case 'toggle-reaction': return this.chat.sender.react(this.room.name, rec.seq, target.dataset.reaction);
      case 'reply': return this.handlers.onReply(rec);
      case 'edit': return this.handlers.onEdit(rec);
      case 'delete': return this.handlers.onDelete(rec);
      case 'jump': return this.jumpTo(Number(target.dataset.target));
      case 'retry': return this.chat.sender.retry(cid);
      case 'discard': return this.chat.sender.discard(cid);
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

