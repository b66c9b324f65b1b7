// Parley's browser client: start-up, the signed-in session and its views.
//
// Start-up loads the WebAssembly protocol module and asks /api/me whether the
// session cookie is still valid; then it shows either the sign-in form or the
// chat. A signed-in session owns one Connection, one Outbox and one Chat, and
// the views that render them; ending the session disposes of all of them, and
// each removes the listeners, observers and timers it registered, so the next
// user can sign in in the same page.
//
// The room in view is part of the URL (/r/<address>, or #<address> for
// links from elsewhere: a public room's name, or a private room's "~"
// address), so reloads, bookmarks and the back button work.

import { loadProtocol, normalizeAddress, roomNameRule } from './protocol.js';
import { api } from './api.js';
import { Connection } from './connection.js';
import { Outbox } from './outbox.js';
import { Chat } from './chat.js';
import { $, h } from './ui/dom.js';
import { applyIcons, icon } from './ui/icons.js';
import { paintAvatar, typingText } from './ui/format.js';
import { AuthView } from './ui/auth_view.js';
import { MessageList } from './ui/message_list.js';
import { Composer } from './ui/composer.js';
import { Sidebar } from './ui/sidebar.js';
import { InviteDialog } from './ui/invite_dialog.js';
import { Members } from './ui/members.js';
import { ReactionPicker } from './ui/picker.js';
import { RoomDialog } from './ui/room_dialog.js';
import { DirectDialog } from './ui/direct_dialog.js';
import { RoomSettings } from './ui/room_settings.js';
import { confirmDialog, toast } from './ui/feedback.js';

const NARROW = matchMedia('(max-width: 760px)');
const APP_TITLE = document.title;
const IDENTITY_KEY = 'parley:me';   // the signed-in user, for starting while the server is unreachable
const NO_MEMBERS_PANEL = matchMedia('(max-width: 1100px)');

let protocol = null;
let session = null;
let auth = null;
let picker = null;

/**
 * The room named by the URL, or null. A "~" address is taken as it is, even
 * malformed: it names no room, and is shown like any address one may not
 * open.
 */
function roomFromLocation() {
  const path = location.pathname.match(/^\/r\/([^/]+)\/?$/);
  const raw = path ? path[1] : location.hash.length > 1 ? location.hash.slice(1) : null;
  if (raw === null) return null;
  let address;
  try {
    address = decodeURIComponent(raw).trim();
  } catch {
    return null;
  }
  return address.startsWith('~') ? address : normalizeAddress(address);
}

/** Why a room left the list, as the user is told. */
function removalText({ room, reason, by, unsent }, label) {
  const lost = unsent ? ` ${unsent} unsent message${unsent === 1 ? ' was' : 's were'} discarded.` : '';
  switch (reason) {
    case 'kicked': return `You were removed from ${label}${by ? ` by ${by}` : ''}.${lost}`;
    case 'banned': return `You were banned from ${label}${by ? ` by ${by}` : ''}.${lost}`;
    case 'deleted': return `${label} was deleted${by ? ` by ${by}` : ''}.${lost}`;
    case 'left': return `You left ${label}.${lost}`;
    default: return room.kind === 'direct' ? `You are no longer in ${label}.${lost}` : `You are no longer a member of ${label}.${lost}`;
  }
}

class Session {
  constructor(me, outbox) {
    this.me = me;
    this.conn = new Connection(protocol, `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    this.chat = new Chat({ protocol, connection: this.conn, me, outbox });
    this.outbox = outbox;
    this.everConnected = false;
    this.countdown = 0;
    this.authCheck = 0;
    this.lifetime = new AbortController();

    this.messages = new MessageList(this.chat, {
      onReply: (rec) => this.composer.reply(rec),
      onEdit: (rec) => this.composer.edit(rec),
      onDelete: (rec) => this.confirmDelete(rec).then((yes) => yes && this.chat.sender.remove(this.chat.current, rec.seq)),
      onReact: (rec, anchor) => this.openPicker(rec, anchor),
      focusComposer: () => this.composer.focus(),
    });
    this.composer = new Composer(this.chat, {
      confirmDelete: (rec) => this.confirmDelete(rec),
      keepBottom: (change) => this.messages.keepBottom(change),
    });
    this.sidebar = new Sidebar(this.chat, { navigate: (name) => this.navigate(name), leave: (name) => this.leave(name) });
    this.members = new Members(this.chat);
    this.roomDialog = new RoomDialog(this.chat, {
      navigate: (name) => this.navigate(name),
      isJoined: (name) => Boolean(this.chat.rooms.get(name)?.member),
    });
    this.directDialog = new DirectDialog(this.chat, { navigate: (name) => this.navigate(name) });
    this.inviteDialog = new InviteDialog();
    this.settings = new RoomSettings(this.chat, { leave: (name) => this.leave(name), label: (room) => this.label(room) });
    this.views = [this.messages, this.composer, this.sidebar, this.members, this.roomDialog, this.directDialog, this.inviteDialog, this.settings];
    this.wire();
  }

  /** Adds a listener that dispose() removes again. */
  listen(target, type, fn) {
    target.addEventListener(type, fn, { signal: this.lifetime.signal });
  }

  wire() {
    const c = this.chat;
    this.listen(c, 'rooms', () => this.renderRooms());
    this.listen(c, 'room', (e) => {
      if (e.detail.room !== c.current) return;
      this.renderRoom();
      this.members.render(this.room);
    });
    this.listen(c, 'removed', (e) => this.onRemoved(e.detail));
    this.listen(c, 'renamed', (e) => this.onRenamed(e.detail));
    this.listen(c, 'invited', ({ detail: { entry } }) => toast(`${entry.invited_by?.name || 'Someone'} invited you to ${entry.title || 'a private room'}.`));
    this.listen(c, 'messages', (e) => {
      this.messages.update(e.detail);
      if (e.detail.room === c.current && e.detail.kind !== 'update') this.members.render(this.room);
    });
    this.listen(c, 'presence', (e) => e.detail.room === c.current && this.members.render(this.room));
    this.listen(c, 'typing', (e) => e.detail.room === c.current && this.renderTyping());
    this.listen(c, 'notice', (e) => toast(e.detail.text, e.detail.level));
    this.listen(c, 'outbox', () => this.renderConnection());
    this.listen(c, 'unauthorized', () => endSession('Your session has ended. Please sign in again.', false));
    this.listen(this.conn, 'state', (e) => this.onConnectionState(e.detail));
    this.listen(this.conn, 'opened', () => this.checkSessionSoon());
    this.listen(window, 'popstate', () => this.open(roomFromLocation() ?? this.chat.current ?? 'lobby', false));
    this.listen(this.conn, 'state', (e) => e.detail.state === 'outdated' && this.renderConnection());
    this.listen(window, 'pagehide', () => this.chat.prefs.save());
    this.listen(document, 'visibilitychange', () => this.messages.reportRead());
    this.listen(document, 'keydown', (e) => this.onGlobalKey(e));

    const on = (id, fn) => this.listen($(id), 'click', fn);
    on('sign-out', () => this.signOut());
    on('new-room', () => this.roomDialog.open());
    on('new-direct', () => this.directDialog.open());
    on('room-settings', () => this.settings.open(this.room));
    on('conn-retry', () => (this.conn.state === 'outdated' ? location.reload() : this.conn.retryNow()));
    on('open-sidebar', () => this.toggleSidebar(true));
    on('close-sidebar', () => this.toggleSidebar(false));
    on('scrim', () => {
      this.toggleSidebar(false);
      this.toggleMembers(false);
    });
    on('toggle-members', () => this.toggleMembers());
    on('close-members', () => this.toggleMembers(false));
  }

  start() {
    $('toggle-members').setAttribute('aria-expanded', String(!NO_MEMBERS_PANEL.matches));
    $('me-name').textContent = this.me.username;
    paintAvatar($('me-avatar'), this.me.username);
    const wanted = roomFromLocation();
    if (!wanted && (location.pathname.startsWith('/r/') || location.hash.length > 1)) {
      toast(`That room name is not valid. ${roomNameRule()}`, 'warn');
    }
    this.open(wanted ?? this.chat.lastRoom ?? 'lobby', 'replace');
    this.conn.start();
    this.renderConnection();
  }

  /** Ends everything this session started: listeners, views, dialogs, timers, the model, the socket, the outbox. */
  dispose() {
    this.lifetime.abort();
    clearInterval(this.countdown);
    clearTimeout(this.authCheck);
    picker.close(false);
    const confirm = $('confirm-dialog');
    if (confirm.open) confirm.close(); // a pending question is answered "no"
    for (const view of this.views) view.dispose();
    this.chat.dispose();
    this.conn.stop();
    this.outbox.close();
    document.title = APP_TITLE;
  }

  get room() {
    return this.chat.current ? this.chat.rooms.get(this.chat.current) : null;
  }

  // ---- rooms and navigation ---------------------------------------------------------

  navigate(name) {
    this.open(name, true);
  }

  /** Shows room `name`; `history` is true (push), 'replace' or false (the URL is already right). */
  open(name, history) {
    const url = `/r/${encodeURIComponent(name)}`;
    if (history === 'replace' || (history && location.pathname !== url)) {
      window.history[history === 'replace' ? 'replaceState' : 'pushState'](null, '', url);
    }
    this.toggleSidebar(false);
    if (this.chat.current === name && this.room) return;
    this.chat.typing.stop();
    const room = this.chat.openRoom(name);
    if (!room) return;
    this.renderRoom();
    this.messages.show(room);
    this.composer.show(room);
    this.members.render(room);
    this.renderTyping();
    this.renderRooms();
    if (!NARROW.matches) this.composer.focus();
  }

  /** A private address not (yet) known to be mine: the server has said nothing of it. */
  unknown(room) {
    return room.kind !== 'public' && !room.member && !room.joined && !room.title;
  }

  /** The room list's name of a room: "#name", a private room's title, a direct conversation's people. */
  label(room) {
    return room.kind === 'public' ? `#${room.label(this.me.id)}` : room.label(this.me.id);
  }

  async leave(name) {
    const room = this.chat.rooms.get(name);
    if (!room) return;
    const label = this.label(room);
    const unsent = this.outbox.messagesOf(name).length;
    const back = room.kind === 'public' ? 'You can join it again at any time.'
      : room.kind === 'private' ? 'You need a new invitation to come back.' : 'Opening the conversation again brings it back.';
    const yes = await confirmDialog({
      title: `Leave ${label}?`,
      text: unsent
        ? `You have ${unsent} unsent message${unsent === 1 ? '' : 's'} in ${label}; leaving discards ${unsent === 1 ? 'it' : 'them'}. ${back}`
        : `The room leaves your list. ${back}`,
      ok: 'Leave',
    });
    if (!yes) return;
    const wasCurrent = this.chat.current === name;
    this.chat.leaveRoom(name);
    if (wasCurrent) this.showNext();
    this.renderRooms();
  }

  /** Shows the first room of the list, or none (the room in view is gone). */
  showNext() {
    const next = this.chat.listedRooms()[0];
    if (next) this.open(next.name, 'replace');
    else this.showNoRoom();
  }

  /** The user is no longer in a room: out of its view if it was in view, and told why. */
  onRemoved(detail) {
    if (!detail.leaving || detail.unsent) toast(removalText(detail, this.label(detail.room)), detail.reason === 'left' ? 'info' : 'warn');
    if (detail.wasCurrent) this.showNext();
    this.renderRooms();
  }

  /** A room's address changed (its kind did): the URL follows the room in view. */
  onRenamed({ from, to }) {
    if (this.chat.current === to && location.pathname === `/r/${encodeURIComponent(from)}`) {
      window.history.replaceState(null, '', `/r/${encodeURIComponent(to)}`);
    }
    this.messages.renamed();
    this.renderRooms();
  }

  showNoRoom() {
    window.history.pushState(null, '', '/');
    this.renderRoom();
    this.messages.show(null);
    this.composer.show(null);
    this.members.render(null);
    this.renderTyping();
    this.roomDialog.open();
  }

  // ---- rendering --------------------------------------------------------------------

  renderRooms() {
    this.sidebar.render();
    const total = this.chat.totalUnread;
    const badge = $('total-unread');
    badge.hidden = total === 0;
    badge.textContent = total > 99 ? '99+' : String(total);
    const room = this.room;
    const shown = room && !room.denied && !this.unknown(room) ? `${this.label(room)} · ` : '';
    document.title = `${total ? `(${total}) ` : ''}${shown}Parley`;
    if (room) this.renderRoom();
  }

  /**
   * The header of the room in view: its kind, name and topic. A room whose
   * join was refused shows nothing of itself: the server said nothing.
   */
  renderRoom() {
    const room = this.room;
    const hash = $('room-hash');
    hash.replaceChildren();
    let name = 'no room';
    let topic = '';
    if (room?.denied) {
      name = 'Room unavailable';
    } else if (room && this.unknown(room)) {
      name = ''; // a "~" address being asked for: nothing is known of it yet
    } else if (room) {
      name = room.label(this.me.id);
      topic = room.topic;
      if (room.kind === 'public') hash.textContent = '#';
      else hash.append(icon(room.kind === 'direct' ? 'at' : 'lock'));
    }
    $('room-name').textContent = name;
    $('room-settings').hidden = !room || room.denied;
    const t = $('room-topic');
    t.textContent = topic;
    t.title = topic;
    t.hidden = topic === '';
    this.composer.setAccess(room);
  }

  renderTyping() {
    const room = this.room;
    const names = room ? room.typingNames() : [];
    const el = $('typing');
    el.replaceChildren();
    if (names.length) {
      el.append(h('span', { class: 'typing-dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), h('span', { text: typingText(names) }));
    }
    el.classList.toggle('active', names.length > 0);
    if (room) this.members.render(room);
  }

  onConnectionState({ state }) {
    if (state === 'ready') {
      this.everConnected = true;
      clearTimeout(this.authCheck);
    }
    this.members.render(this.room);
    this.renderConnection();
  }

  /** The header pill, the sidebar status and the banner above the timeline. */
  renderConnection() {
    const state = this.conn.state;
    const waiting = this.outbox.size;
    let pill;
    let label;
    let banner = '';
    if (state === 'ready') {
      pill = 'connected';
      label = 'Connected';
    } else if (state === 'outdated') {
      pill = 'offline';
      label = 'Update needed';
      banner = 'Parley was updated on the server. Reload the page to go on.';
    } else if (state === 'offline') {
      pill = 'offline';
      label = 'Offline';
      banner = 'You are offline. Messages you write are kept and sent when the connection is back.';
    } else if (state === 'waiting') {
      pill = 'reconnecting';
      const s = Math.max(1, Math.ceil((this.conn.retryAt - Date.now()) / 1000));
      label = `Reconnecting in ${s} s`;
      banner = `Connection lost. Reconnecting in ${s} s…`;
    } else {
      pill = this.everConnected ? 'reconnecting' : 'connecting';
      label = this.everConnected ? 'Reconnecting…' : 'Connecting…';
      if (this.everConnected) banner = 'Connection lost. Reconnecting…';
    }
    if (banner && waiting) banner += ` ${waiting} message${waiting === 1 ? '' : 's'} waiting to be sent.`;

    const p = $('conn-pill');
    p.dataset.state = pill;
    p.textContent = label;
    const status = $('me-status');
    status.dataset.state = pill;
    status.querySelector('.label').textContent = label;
    const b = $('conn-banner');
    b.hidden = banner === '';
    b.dataset.state = pill;
    $('conn-banner-text').textContent = banner;
    // Always offered with the banner (a retry while connecting changes nothing), so it never jumps away.
    $('conn-retry').hidden = banner === '';
    $('conn-retry').textContent = state === 'outdated' ? 'Reload' : 'Retry now';

    clearInterval(this.countdown);
    if (state === 'waiting') this.countdown = setInterval(() => this.renderConnection(), 1000);
  }

  // ---- dialogs, panels, keys ------------------------------------------------------------

  confirmDelete(rec) {
    const mine = rec.author_id === this.me.id;
    return confirmDialog({
      title: mine ? 'Delete this message?' : `Delete ${rec.author}'s message?`,
      text: mine
        ? 'It is removed for everyone in the room. This cannot be undone.'
        : 'It is removed for everyone in the room, and its place says you deleted it. This cannot be undone.',
      ok: 'Delete',
    });
  }

  openPicker(rec, anchor) {
    const order = protocol.reactions;
    const mine = order.filter((name) => this.chat.receipts.reactedNow(this.chat.current, rec.seq, name));
    picker.open(anchor, (name) => this.chat.sender.react(this.chat.current, rec.seq, name), mine);
  }

  toggleSidebar(open) {
    const app = $('app');
    app.classList.toggle('sidebar-open', open);
    $('open-sidebar').setAttribute('aria-expanded', String(open));
    $('scrim').hidden = !(open || app.classList.contains('members-open'));
    if (open) $('room-list').querySelector('a')?.focus();
  }

  toggleMembers(force) {
    const app = $('app');
    let shown;
    if (NO_MEMBERS_PANEL.matches) {
      shown = force ?? !app.classList.contains('members-open');
      app.classList.toggle('members-open', shown);
      $('scrim').hidden = !(shown || app.classList.contains('sidebar-open'));
    } else {
      shown = force ?? app.classList.contains('members-hidden');
      app.classList.toggle('members-hidden', !shown);
    }
    $('toggle-members').setAttribute('aria-expanded', String(shown));
  }

  onGlobalKey(e) {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
      e.preventDefault();
      this.roomDialog.open();
    } else if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
      const names = this.chat.listedRooms().map((r) => r.name);
      const i = names.indexOf(this.chat.current);
      if (names.length < 2) return;
      e.preventDefault();
      this.navigate(names[(i + (e.key === 'ArrowUp' ? -1 : 1) + names.length) % names.length]);
    } else if (e.key === 'Escape') {
      const app = $('app');
      if (app.classList.contains('sidebar-open') || app.classList.contains('members-open')) {
        this.toggleSidebar(false);
        this.toggleMembers(false);
      }
    }
  }

  /** A socket that opens but is never welcomed usually means the session expired. */
  checkSessionSoon() {
    clearTimeout(this.authCheck);
    this.authCheck = setTimeout(async () => {
      if (this.conn.ready) return;
      try {
        if ((await api.me()) === null) endSession('Your session has ended. Please sign in again.', false);
      } catch {
        // the server is unreachable: the connection keeps retrying
      }
    }, 4000);
  }

  /** The sign-out button: asks first when messages are still unsent, then ends the session. */
  async signOut() {
    const unsent = this.outbox.size;
    if (unsent) {
      const yes = await confirmDialog({
        title: 'Sign out?',
        text: `${unsent} message${unsent === 1 ? ' has' : 's have'} not reached the server yet. ${unsent === 1 ? 'It is' : 'They are'} kept in this browser and sent the next time you sign in here.`,
        ok: 'Sign out',
      });
      if (!yes) return;
    }
    endSession('', true);
  }
}

async function startSession(user) {
  auth.hide();
  showBoot('Opening your rooms…');
  const outbox = await Outbox.open(user.id);
  session = new Session(user, outbox);
  $('boot').hidden = true;
  $('app').hidden = false;
  session.start();
}

/**
 * Ends the session in this page: the session disposes of its views, model,
 * connection and outbox (each removes what it registered), and the sign-in
 * form shows `message`. `callServer`: the user signed out, so the server's
 * session ends too. Otherwise the server ended it, or another tab of this
 * browser signed in to another account: then that account's session starts,
 * as a reload would start it.
 */
async function endSession(message, callServer) {
  if (!session) return;
  const s = session;
  session = null;
  s.dispose();
  $('app').hidden = true;
  showBoot('Signing out…');
  if (callServer) {
    try {
      await api.logout();
    } catch {
      // the cookie is cleared by the server only; a failed call leaves it to expire
    }
  }
  const other = callServer ? null : await api.me().catch(() => null);
  remember(other);
  if (other) {
    startSession(other);
    return;
  }
  $('boot').hidden = true;
  auth.show(message);
}

function showBoot(text) {
  $('boot').hidden = false;
  $('boot-text').textContent = text;
}

function bootFailed(text) {
  showBoot(text);
  $('boot').classList.add('failed');
  const retry = h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, 'Try again');
  $('boot').append(retry);
}

/**
 * The user of the last session in this browser, or null. Lets the app open
 * while the server cannot be reached: the outbox and the rooms are there, and
 * the connection keeps trying (a session that turns out to be gone signs out).
 */
function rememberedUser() {
  try {
    const me = JSON.parse(localStorage.getItem(IDENTITY_KEY) ?? 'null');
    return Number.isSafeInteger(me?.id) && typeof me.username === 'string' ? me : null;
  } catch {
    return null;
  }
}

function remember(user) {
  try {
    if (user) localStorage.setItem(IDENTITY_KEY, JSON.stringify({ id: user.id, username: user.username }));
    else localStorage.removeItem(IDENTITY_KEY);
  } catch {
    // storage is full or disabled: offline starts are not possible, nothing else changes
  }
}

/** The service worker keeps the app's files for starts while the server is unreachable. */
async function installServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    const worker = (await navigator.serviceWorker.ready).active;
    const urls = performance.getEntriesByType('resource').map((e) => e.name)
      .filter((u) => new URL(u).origin === location.origin);
    worker?.postMessage({ type: 'keep', urls: [...new Set(['/', ...urls])] });
  } catch (e) {
    console.warn('parley: no service worker, so no start without the server', e);
  }
}

async function boot() {
  applyIcons();
  auth = new AuthView((user) => {
    remember(user);
    startSession(user);
  });
  let me;
  try {
    protocol = await loadProtocol();
  } catch (e) {
    console.error('parley: start-up failed', e);
    bootFailed('Parley could not start: this browser failed to load its WebAssembly module.');
    return;
  }
  try {
    me = await api.me();
  } catch (e) {
    me = e?.code === 'network' ? rememberedUser() : null;
    if (!me) {
      console.error('parley: start-up failed', e);
      bootFailed(e?.code === 'network' ? 'The Parley server cannot be reached.' : `Parley could not start: ${e.message}`);
      return;
    }
  }
  remember(me);
  picker = new ReactionPicker(protocol.reactions);
  $('boot').hidden = true;
  if (me) startSession(me);
  else auth.show();
  installServiceWorker();
}

boot();
