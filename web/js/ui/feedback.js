// Toasts and the confirmation dialog.

import { h, $ } from './dom.js';
import { icon } from './icons.js';

const TOAST_MS = 5000;

export function toast(text, level = 'info') {
  const box = $('toasts');
  const el = h('div', { class: `toast toast-${level}` },
    h('span', { class: 'toast-text', text }),
    h('button', { type: 'button', class: 'icon-button small', 'aria-label': 'Dismiss', onclick: () => el.remove() }, icon('close')));
  box.append(el);
  while (box.childElementCount > 4) box.firstElementChild.remove();
  setTimeout(() => el.remove(), TOAST_MS);
}

/** A modal yes/no question. @return Promise<boolean> */
export function confirmDialog({ title, text, ok = 'OK', danger = true }) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  const okButton = $('confirm-ok');
  okButton.textContent = ok;
  okButton.className = danger ? 'danger' : 'primary';
  dialog.returnValue = '';
  dialog.showModal();
  $('confirm-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}
