// Inline SVG icons, drawn for Parley on a 24x24 grid.
//
// Interface icons are single-colour strokes that follow `currentColor`; the
// reaction icons are filled and coloured, so they read the same on every
// platform (emoji fonts differ between systems, and some have none).

const SVG_NS = 'http://www.w3.org/2000/svg';

const stroke = (...d) => d.map((path) => ['path', { d: path }]);

const ICONS = {
  plus: stroke('M12 5v14', 'M5 12h14'),
  close: stroke('M6 6l12 12', 'M18 6L6 18'),
  menu: stroke('M4 7h16', 'M4 12h16', 'M4 17h16'),
  users: [
    ['circle', { cx: 9, cy: 8, r: 3.5 }],
    ...stroke('M2.5 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6', 'M16 4.6a3.5 3.5 0 0 1 0 6.8', 'M18 14.3c2.1.7 3.5 2.9 3.5 5.7'),
  ],
  signOut: stroke('M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3', 'M10 17l5-5-5-5', 'M15 12H3'),
  send: stroke('M4.5 11.5L20 4l-6.5 16-2.7-6.3z', 'M10.8 13.7L20 4'),
  reply: stroke('M9 14L4 9l5-5', 'M4 9h10a6 6 0 0 1 6 6v4'),
  edit: stroke('M4 20h4L19 9a2.8 2.8 0 0 0-4-4L4 16z', 'M13.5 6.5l4 4'),
  trash: stroke('M4 7h16', 'M10 11v6', 'M14 11v6', 'M6 7l1 13h10l1-13', 'M9 7V4h6v3'),
  react: [
    ['circle', { cx: 11, cy: 12.5, r: 8 }],
    ...stroke('M8 15s1.2 1.6 3 1.6 3-1.6 3-1.6', 'M8.5 10.5h.01', 'M13.5 10.5h.01', 'M19.5 1.5v5', 'M17 4h5'),
  ],
  clock: [['circle', { cx: 12, cy: 12, r: 8.5 }], ...stroke('M12 7.5V12l3 2')],
  check: stroke('M5 12.5l4.5 4.5L19 7.5'),
  checkDouble: stroke('M1.5 12.5L6 17l9.5-9.5', 'M11 16l1 1 9.5-9.5'),
  alert: [['circle', { cx: 12, cy: 12, r: 9 }], ...stroke('M12 7.5v5.5', 'M12 16.5h.01')],
  eye: [['circle', { cx: 12, cy: 12, r: 3 }], ...stroke('M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z')],
  eyeOff: stroke('M3 3l18 18', 'M10.6 5.1A10.5 10.5 0 0 1 12 5c6.4 0 10 7 10 7a17.6 17.6 0 0 1-3.2 4.2',
    'M6.6 6.6C3.8 8.4 2 12 2 12s3.6 7 10 7a9.9 9.9 0 0 0 5.4-1.6', 'M9.9 9.9a3 3 0 0 0 4.2 4.2'),
  arrowDown: stroke('M12 5v14', 'M6 13l6 6 6-6'),
  wifiOff: stroke('M3 3l18 18', 'M8.5 16.4a5 5 0 0 1 7 0', 'M5 12.9a10 10 0 0 1 5.2-2.7', 'M14.6 10.4A10 10 0 0 1 19 12.9',
    'M1.5 9.2a15 15 0 0 1 4.3-2.7', 'M10.7 5.1A15 15 0 0 1 22.5 9.2', 'M12 20h.01'),
  hash: stroke('M5 9h15', 'M4 15h15', 'M10 3L8 21', 'M16 3l-2 18'),
  lock: [['rect', { x: 5, y: 10.5, width: 14, height: 10, rx: 2 }], ...stroke('M8 10.5V7.5a4 4 0 0 1 8 0v3', 'M12 14.5v2')],
  at: [['circle', { cx: 12, cy: 12, r: 3.8 }], ...stroke('M15.8 8.5v5a2.6 2.6 0 0 0 5.2 0V12a9 9 0 1 0-3.6 7.2')],
  settings: [['circle', { cx: 12, cy: 12, r: 3 }], ...stroke(
    'M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z')],
  more: [['circle', { cx: 5, cy: 12, r: 1.3 }], ['circle', { cx: 12, cy: 12, r: 1.3 }], ['circle', { cx: 19, cy: 12, r: 1.3 }]],
  message: stroke('M4 5h16v11H9l-5 4z'),
};

function star() {
  const pts = [];
  for (let i = 0; i < 10; i++) {
    const r = i % 2 === 0 ? 10.5 : 4.4;
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    pts.push(`${(12 + r * Math.cos(a)).toFixed(2)},${(12.8 + r * Math.sin(a)).toFixed(2)}`);
  }
  return pts.join(' ');
}

const THUMB = 'M7.5 10.5L11.2 3c1.6 0 2.8 1.4 2.5 3l-.6 3.5h5.6a2.2 2.2 0 0 1 2.2 2.6l-1.3 7.1A2.2 2.2 0 0 1 17.4 21H7.5z';
const CUFF = 'M2.5 10.5h3.5V21H2.5z';

/** Filled icons of the six reactions, keyed by the protocol's reaction names. */
const REACTIONS = {
  like: [['path', { d: CUFF, fill: '#2f6fde' }], ['path', { d: THUMB, fill: '#4b8df8' }]],
  dislike: [['g', { transform: 'rotate(180 12 12)' },
    [['path', { d: CUFF, fill: '#6b7688' }], ['path', { d: THUMB, fill: '#8d97a8' }]]]],
  heart: [['path', {
    d: 'M12 21C5 16.4 2 12.9 2 8.8 2 6 4.2 3.8 6.9 3.8c2 0 3.7 1 5.1 2.9 1.4-1.9 3.1-2.9 5.1-2.9C19.8 3.8 22 6 22 8.8 22 12.9 19 16.4 12 21z',
    fill: '#ec4357',
  }]],
  star: [['polygon', { points: star(), fill: '#f5b301', 'stroke-linejoin': 'round' }]],
  laugh: [
    ['circle', { cx: 12, cy: 12, r: 10, fill: '#fbc531' }],
    ['path', { d: 'M6.8 10q1.6-2 3.2 0M14 10q1.6-2 3.2 0', fill: 'none', stroke: '#5b3a12', 'stroke-width': 1.6, 'stroke-linecap': 'round' }],
    ['path', { d: 'M6.5 13h11a5.5 5.5 0 0 1-11 0z', fill: '#5b3a12' }],
  ],
  party: [
    ['path', { d: 'M3 21.5l4.6-12.8 8.2 8.2z', fill: '#9b5cf6' }],
    ['path', { d: 'M5.2 15.4l3.4 3.4M6.6 11.6l5.8 5.8', stroke: '#f5b301', 'stroke-width': 1.6, fill: 'none' }],
    ['path', { d: 'M13 2.5v3.5M17.5 6.5l2-2M21.5 11H18', stroke: '#ec4357', 'stroke-width': 1.8, fill: 'none', 'stroke-linecap': 'round' }],
    ['circle', { cx: 16.5, cy: 2.8, r: 1.3, fill: '#2f9e6a' }],
    ['circle', { cx: 21, cy: 15.5, r: 1.3, fill: '#4b8df8' }],
    ['circle', { cx: 9.5, cy: 4.5, r: 1.1, fill: '#f5b301' }],
  ],
};

function build(parts, parent) {
  for (const [tag, attrs, children] of parts) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (children) build(children, el);
    parent.append(el);
  }
  return parent;
}

function svg(parts, className, filled) {
  const el = document.createElementNS(SVG_NS, 'svg');
  el.setAttribute('viewBox', '0 0 24 24');
  el.setAttribute('aria-hidden', 'true');
  el.setAttribute('focusable', 'false');
  el.setAttribute('class', className);
  if (!filled) {
    el.setAttribute('fill', 'none');
    el.setAttribute('stroke', 'currentColor');
    el.setAttribute('stroke-width', '1.8');
    el.setAttribute('stroke-linecap', 'round');
    el.setAttribute('stroke-linejoin', 'round');
  }
  return build(parts, el);
}

/** An interface icon (stroke, currentColor). Unknown names give an empty icon. */
export function icon(name) {
  return svg(ICONS[name] ?? [], `icon icon-${name}`, false);
}

/** The coloured icon of a reaction name ('like', 'heart', ...). */
export function reactionIcon(name) {
  return svg(REACTIONS[name] ?? [], `reaction-icon reaction-${name}`, true);
}

/** Human labels of the reactions, for buttons and screen readers. */
export const REACTION_LABELS = {
  like: 'Like',
  dislike: 'Dislike',
  heart: 'Love',
  star: 'Star',
  laugh: 'Funny',
  party: 'Celebrate',
};

/** Fills every element carrying data-icon="name" with that icon (once). */
export function applyIcons(root = document) {
  for (const el of root.querySelectorAll('[data-icon]')) {
    if (el.querySelector(':scope > svg.icon')) continue;
    el.prepend(icon(el.dataset.icon));
  }
}
