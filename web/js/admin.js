// The admin console: polls the server's numbers, users and rooms every few
// seconds and sends the administrator's actions. The server decides who may
// do any of it (every /api/admin/ request is checked there); this page only
// shows what it is allowed to see.

const POLL_MS = 3000;

class AdminError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function call(method, path) {
  let res;
  try {
    res = await fetch(path, { method, credentials: 'same-origin', headers: { Accept: 'application/json' } });
  } catch {
    throw new AdminError('The server cannot be reached.', 0);
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new AdminError(data?.message ?? res.statusText, res.status);
  return data;
}

const admin = {
  summary: () => call('GET', '/api/admin/summary'),
  users: () => call('GET', '/api/admin/users'),
  rooms: () => call('GET', '/api/admin/rooms'),
  userAction: (name, action) => call('POST', `/api/admin/users/${encodeURIComponent(name)}/${action}`),
  closeRoom: (id) => call('DELETE', `/api/admin/rooms/${encodeURIComponent(id)}`),
  deleteMessage: (room, seq) => call('DELETE', `/api/admin/rooms/${encodeURIComponent(room)}/messages/${encodeURIComponent(seq)}`),
};

const $ = (id) => document.getElementById(id);

function setStatus(text, isError = false) {
  const el = $('admin-status');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function formatTime(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '–';
}

function formatSeconds(s) {
  if (s === null || s === undefined) return '> 2.5 s';
  if (s === 0) return '–';
  return s < 0.001 ? `${Math.round(s * 1e6)} µs` : `${(s * 1000).toFixed(s < 0.01 ? 2 : 0)} ms`;
}

/** A button that acts on the second click (the first asks "Sure?"): destructive actions only. */
function actionButton(label, run, { danger = false, confirm = false } = {}) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.dataset.action = label.toLowerCase();
  if (danger) b.className = 'danger';
  b.addEventListener('click', async () => {
    if (confirm && b.dataset.armed !== 'yes') {
      b.dataset.armed = 'yes';
      b.textContent = `Sure? ${label}`;
      return;
    }
    b.disabled = true;
    try {
      const res = await run();
      setStatus(res?.message ?? 'Done.');
    } catch (e) {
      setStatus(e.message, true);
    }
    await refresh();
  });
  return b;
}

// ---- rendering ----------------------------------------------------------------------------------

let previous = null;  // {at, messages}: for the message rate

function renderSummary(s) {
  const now = performance.now();
  $('n-connections').textContent = s.connections;
  $('n-rooms').textContent = s.rooms;
  $('n-messages').textContent = s.messages_total;
  $('n-backlog').textContent = s.writer_backlog;
  $('n-commit').textContent = `${formatSeconds(s.commit_latency.p50_s)} / ${formatSeconds(s.commit_latency.p99_s)}`;
  $('n-slow').textContent = s.slow_consumer_disconnects;
  $('n-limited').textContent = s.rate_limited;
  if (previous) {
    const rate = (s.messages_total - previous.messages) / ((now - previous.at) / 1000);
    $('n-rate').textContent = rate >= 0 ? rate.toFixed(1) : '–';
  }
  previous = { at: now, messages: s.messages_total };

  const errors = $('errors');
  errors.replaceChildren();
  for (const e of s.protocol_errors) {
    const row = errors.insertRow();
    cell(row, e.code);
    cell(row, e.name);
    cell(row, e.count);
  }
  if (!s.protocol_errors.length) cell(errors.insertRow(), 'None since start-up.').colSpan = 3;
  const offenders = $('offenders');
  offenders.replaceChildren();
  for (const o of s.recent_offenders) {
    const row = offenders.insertRow();
    cell(row, o.address);
    cell(row, o.count);
    cell(row, formatTime(o.last_at));
  }
  if (!s.recent_offenders.length) cell(offenders.insertRow(), 'None.').colSpan = 3;
}

function renderUsers(users) {
  const body = $('users');
  body.replaceChildren();
  for (const u of users) {
    const row = body.insertRow();
    row.dataset.user = u.username;
    cell(row, u.username);
    cell(row, u.admin ? 'admin' : 'member');
    cell(row, u.disabled ? 'disabled' : 'active', u.disabled ? 'badge-off' : '');
    cell(row, u.connections);
    cell(row, formatTime(u.created_at));
    const actions = row.insertCell();
    if (u.connections > 0) actions.append(actionButton('Disconnect', () => admin.userAction(u.username, 'disconnect')));
    actions.append(u.disabled
      ? actionButton('Enable', () => admin.userAction(u.username, 'enable'))
      : actionButton('Disable', () => admin.userAction(u.username, 'disable'), { danger: true, confirm: true }));
  }
}

function renderRooms(rooms) {
  const body = $('rooms');
  body.replaceChildren();
  for (const r of rooms) {
    const row = body.insertRow();
    row.dataset.room = r.id;
    cell(row, r.id);
    cell(row, r.closed ? `${r.kind} (closed)` : r.kind);
    cell(row, r.kind === 'public' ? r.address : r.title || '–');
    const more = r.member_count > r.members.length ? ` and ${r.member_count - r.members.length} more` : '';
    cell(row, `${r.members.join(', ')}${more}` || '–', 'admin-members');
    cell(row, r.connections);
    cell(row, r.last_seq);
    const actions = row.insertCell();
    if (!r.closed && r.kind !== 'direct')
      actions.append(actionButton('Close', () => admin.closeRoom(r.id), { danger: true, confirm: true }));
  }
  if (!rooms.length) cell(body.insertRow(), 'No room is in memory.').colSpan = 7;
}

// ---- polling ------------------------------------------------------------------------------------

let timer = 0;

async function refresh() {
  clearTimeout(timer);
  try {
    const [summary, users, rooms] = await Promise.all([admin.summary(), admin.users(), admin.rooms()]);
    renderSummary(summary);
    renderUsers(users.users);
    renderRooms(rooms.rooms);
    if ($('admin-status').textContent === 'Loading…') setStatus(`Updated ${new Date().toLocaleTimeString()}`);
    document.body.dataset.loaded = 'yes';
  } catch (e) {
    // Signed out or no longer an admin: the server said so; stop asking.
    if (e.status === 401 || e.status === 403) return setStatus(`${e.message}. Sign in again as an administrator.`, true);
    setStatus(e.message, true);
  }
  timer = setTimeout(refresh, POLL_MS);
}

$('delete-message').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    const res = await admin.deleteMessage(form.room.value.trim(), form.seq.value.trim());
    setStatus(res.message);
    form.reset();
  } catch (e) {
    setStatus(e.message, true);
  }
});

refresh();
