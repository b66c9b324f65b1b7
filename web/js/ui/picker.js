// The reaction picker: a small menu of the protocol's reactions.

import { h, $ } from './dom.js';
import { reactionIcon, REACTION_LABELS } from './icons.js';

export class ReactionPicker {
  constructor(reactions) {
    this.el = $('reaction-picker');
    this.onPick = null;
    this.opener = null;
    this.buttons = reactions.map((name) => h('button', {
      type: 'button', role: 'menuitem', class: 'picker-item', dataset: { reaction: name },
      'aria-label': REACTION_LABELS[name] ?? name, title: REACTION_LABELS[name] ?? name, tabindex: '-1',
    }, reactionIcon(name)));
    this.el.replaceChildren(...this.buttons);
    this.el.addEventListener('click', (e) => {
      const b = e.target.closest('[data-reaction]');
      if (b) this.pick(b.dataset.reaction);
    });
    this.el.addEventListener('keydown', (e) => this.onKey(e));
    document.addEventListener('pointerdown', (e) => {
      if (!this.el.hidden && !this.el.contains(e.target) && e.target !== this.opener) this.close(false);
    });
    addEventListener('resize', () => this.close(false));
  }

  /** Opens next to `anchor`; `onPick(name)` is called with the chosen reaction. */
  open(anchor, onPick, selected = []) {
    this.onPick = onPick;
    this.opener = anchor;
    for (const b of this.buttons) b.classList.toggle('mine', selected.includes(b.dataset.reaction));
    this.el.hidden = false;
    const r = anchor.getBoundingClientRect();
    const w = this.el.offsetWidth;
    const hgt = this.el.offsetHeight;
    const left = Math.max(8, Math.min(innerWidth - w - 8, r.right - w));
    const top = r.top - hgt - 6 > 8 ? r.top - hgt - 6 : r.bottom + 6;
    this.el.style.left = `${left}px`;
    this.el.style.top = `${top}px`;
    this.buttons[0].focus();
  }

  close(returnFocus) {
    if (this.el.hidden) return;
    this.el.hidden = true;
    if (returnFocus && this.opener?.isConnected) this.opener.focus();
    this.opener = null;
  }

  pick(name) {
    const cb = this.onPick;
    this.close(true);
    cb?.(name);
  }

  onKey(e) {
    const i = this.buttons.indexOf(document.activeElement);
    const move = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (move) {
      e.preventDefault();
      this.buttons[(i + move + this.buttons.length) % this.buttons.length].focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      this.buttons[e.key === 'Home' ? 0 : this.buttons.length - 1].focus();
    } else if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      this.close(true);
    }
  }
}
