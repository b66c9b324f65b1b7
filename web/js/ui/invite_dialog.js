// "Invite people": the sidebar action, shown to those the server lets
// invite (admins, or every member with --member-invites), and its dialog,
// which creates an invite and shows the link to copy. The server decides;
// the button only spares the others a refusal.

import { $ } from './dom.js';
import { toast } from './feedback.js';
import { api } from '../api.js';

export class InviteDialog {
  constructor() {
    this.dialog = $('invite-dialog');
    this.button = $('invite-people');
    this.link = $('invite-link');
    this.error = $('invite-error');
    this.lifetime = new AbortController();
    const { signal } = this.lifetime;
    this.button.addEventListener('click', () => this.open(), { signal });
    $('invite-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.create();
    }, { signal });
    $('invite-close').addEventListener('click', () => this.dialog.close(), { signal });
    $('invite-copy').addEventListener('click', () => this.copy(), { signal });
    this.refresh();
  }

  dispose() {
    this.lifetime.abort();
    if (this.dialog.open) this.dialog.close();
    this.button.hidden = true;
    this.link.value = '';
  }

  /** Shows the action if the signed-in user may invite. */
  async refresh() {
    try {
      const me = await api.me();
      if (!this.lifetime.signal.aborted) this.button.hidden = !me?.can_invite;
    } catch {
      // offline: keep it hidden; the next session start asks again
    }
  }

  open() {
    $('invite-result').hidden = true;
    this.link.value = '';
    this.error.textContent = '';
    this.dialog.showModal();
    $('invite-uses').focus();
  }

  async create() {
    const uses = Number($('invite-uses').value);
    if (!Number.isInteger(uses) || uses < 1 || uses > 1000) {
      this.error.textContent = 'An invite lets 1 to 1000 people in.';
      return;
    }
    this.error.textContent = '';
    try {
      const invite = await api.createInvite(uses, Number($('invite-expires').value));
      if (this.lifetime.signal.aborted) return;
      this.link.value = new URL(invite.link, location.origin).href;
      $('invite-result').hidden = false;
      this.link.select();
    } catch (e) {
      this.error.textContent = e.message || 'The invite could not be created.';
    }
  }

  async copy() {
    try {
      await navigator.clipboard.writeText(this.link.value);
      toast('Invite link copied.');
    } catch {
      this.link.select();  // the clipboard is refused outside HTTPS: let the user copy it
      toast('Press Ctrl+C to copy the selected link.');
    }
  }
}
