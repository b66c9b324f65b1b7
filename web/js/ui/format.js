// Formatting of times, names and message text for display.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const dayYearFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

export const formatTime = (ms) => timeFormat.format(ms);
export const formatFull = (ms) => fullFormat.format(ms);

/** A calendar day key in local time, for day separators. */
export function dayKey(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** "Today", "Yesterday" or the date. */
export function formatDay(ms, now = Date.now()) {
  const key = dayKey(ms);
  if (key === dayKey(now)) return 'Today';
  if (key === dayKey(now - 86400000)) return 'Yesterday';
  const sameYear = new Date(ms).getFullYear() === new Date(now).getFullYear();
  return (sameYear ? dayFormat : dayYearFormat).format(ms);
}

/** A stable hue for a user name, so each person keeps their colour. */
export function hueOf(name) {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return (h >>> 0) % 360;
}

export function initialsOf(name) {
  const parts = name.split(/[._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : name.slice(0, 2);
  return letters.toUpperCase();
}

/** Fills an avatar element for `name`. */
export function paintAvatar(el, name) {
  el.textContent = initialsOf(name);
  el.style.setProperty('--hue', String(hueOf(name)));
}

// http(s) URLs, and bare www. hosts. Everything else stays text.
const LINK = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'"»]+$/;

function trimLink(raw) {
  let link = raw.replace(TRAILING, '');
  // Keep a closing bracket only when the link opened one: "(see http://x/a_(b))".
  for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}']]) {
    while (link.endsWith(close) && link.split(open).length < link.split(close).length) {
      link = link.slice(0, -1).replace(TRAILING, '');
    }
  }
  return link;
}

function safeHref(text) {
  try {
    const url = new URL(/^www\./i.test(text) ? `https://${text}` : text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Message text as DOM nodes: text nodes, with http(s) links as anchors that
 * open in a new tab without referrer or opener. Never parses markup.
 */
export function renderText(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    const raw = trimLink(match[0]);
    const href = safeHref(raw);
    if (!href) continue;
    if (match.index > last) frag.append(text.slice(last, match.index));
    const a = document.createElement('a');
    a.href = href;
    a.textContent = raw;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    frag.append(a);
    last = match.index + raw.length;
  }
  if (last < text.length) frag.append(text.slice(last));
  return frag;
}

/** One line of a message for quotes and notifications. */
export function snippet(text, max = 120) {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** "Ana is typing…", "Ana and Bo are typing…", "several people are typing…" */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

const encoder = new TextEncoder();
export const utf8Length = (s) => encoder.encode(s).length;

/**
 * A room event as a line of the timeline: "ana joined", "bo was invited by
 * ana", "ana set the topic: …", "the room is now private (changed by ana)".
 * @param ev a room event record (room.js): {action, actor, target, role, room_type, text, invitee}
 */
export function roomEventText(ev) {
  const a = ev.actor.name || 'someone';
  const t = ev.target.name || 'someone';
  switch (ev.action) {
    case 'joined': return ev.actor.id && ev.actor.id !== ev.target.id ? `${t} joined (invited by ${a})` : `${t} joined`;
    case 'left': return `${t} left`;
    case 'invited': return `${t} was invited by ${a}`;
    case 'declined': return `${t} declined the invitation`;
    case 'kicked': return ev.invitee ? `${a} withdrew the invitation of ${t}` : `${t} was removed by ${a}`;
    case 'banned': return `${t} was banned by ${a}`;
    case 'unbanned': return `${t} was unbanned by ${a}`;
    case 'muted': return `${t} was muted by ${a}`;
    case 'unmuted': return `${t} was unmuted by ${a}`;
    case 'role_set': return `${a} made ${t} ${ev.role === 'moderator' ? 'a moderator' : 'a member'}`;
    case 'ownership_given': return `${a} made ${t} the owner`;
    case 'title_set': return `${a} renamed the room to “${ev.text}”`;
    case 'topic_set': return ev.text ? `${a} set the topic: ${ev.text}` : `${a} cleared the topic`;
    case 'kind_set': return `the room is now ${ev.room_type} (changed by ${a})`;
    case 'deleted': return `${a} deleted the room`;
    default: return `${a} changed the room`;
  }
}
