// Sign in and account creation, as the server's registration mode allows:
// an "Invite code" field when it is by invite (filled in from a /?invite=CODE
// link, which also opens the "Create account" tab), a note instead of the
// form when it is closed.

import { $ } from './dom.js';
import { icon } from './icons.js';
import { api, describeAuthError } from '../api.js';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

export class AuthView {
  /** @param onSignedIn called with {id, username} */
  constructor(onSignedIn) {
    this.onSignedIn = onSignedIn;
    this.root = $('auth');
    this.form = $('auth-form');
    this.user = $('auth-username');
    this.pass = $('auth-password');
    this.error = $('auth-error');
    this.submitButton = $('auth-submit');
    this.tabs = { login: $('tab-login'), register: $('tab-register') };
    this.invite = $('auth-invite');
    this.registration = 'open';  // the server's mode, from GET /api/registration
    this.mode = 'login';
    this.busy = false;

    for (const [mode, tab] of Object.entries(this.tabs)) {
      tab.addEventListener('click', () => this.setMode(mode, true));
      tab.addEventListener('keydown', (e) => {
        if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
          e.preventDefault();
          this.setMode(this.mode === 'login' ? 'register' : 'login', true);
          this.tabs[this.mode].focus();
        }
      });
    }
    $('auth-show-password').addEventListener('click', (e) => {
      const show = this.pass.type === 'password';
      this.pass.type = show ? 'text' : 'password';
      const b = e.currentTarget;
      b.setAttribute('aria-pressed', String(show));
      b.setAttribute('aria-label', show ? 'Hide password' : 'Show password');
      b.replaceChildren(icon(show ? 'eyeOff' : 'eye'));
    });
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    for (const input of [this.user, this.pass, this.invite]) input.addEventListener('input', () => this.showError(''));
  }

  show(message = '') {
    this.root.hidden = false;
    this.pass.value = '';
    this.showError(message);
    const code = new URLSearchParams(location.search).get('invite');
    if (code) {
      this.invite.value = code;
      this.setMode('register', false);
    }
    (this.user.value ? this.pass : this.user).focus();
    this.loadRegistration();
  }

  /** Asks the server who may register; until it answers, the form is the open one. */
  async loadRegistration() {
    try {
      const { mode } = await api.registration();
      this.registration = mode;
    } catch {
      return;  // the server says why at submit time
    }
    this.setMode(this.mode, false);
  }

  hide() {
    this.root.hidden = true;
  }

  setMode(mode, focusField) {
    this.mode = mode;
    const registering = mode === 'register';
    this.tabs.login.setAttribute('aria-selected', String(!registering));
    this.tabs.register.setAttribute('aria-selected', String(registering));
    this.tabs.login.tabIndex = registering ? -1 : 0;
    this.tabs.register.tabIndex = registering ? 0 : -1;
    this.form.setAttribute('aria-labelledby', registering ? 'tab-register' : 'tab-login');
    this.submitButton.textContent = registering ? 'Create account' : 'Sign in';
    this.pass.autocomplete = registering ? 'new-password' : 'current-password';
    $('auth-username-hint').hidden = !registering;
    $('auth-password-hint').hidden = !registering;
    const closed = registering && this.registration === 'closed';
    $('auth-invite-field').hidden = !(registering && this.registration === 'invite');
    $('auth-closed').hidden = !closed;
    this.submitButton.disabled = closed;
    this.showError('');
    if (focusField) this.user.focus();
  }

  showError(text) {
    this.error.textContent = text;
    this.form.classList.toggle('has-error', text !== '');
  }

  validate(username, password) {
    if (!username) return 'Enter a username.';
    if (!USERNAME.test(username)) return describeAuthError({ code: 'bad_username' });
    if (!password) return 'Enter your password.';
    if (this.mode === 'register' && new TextEncoder().encode(password).length < 8) {
      return describeAuthError({ code: 'bad_password' });
    }
    if (this.mode === 'register' && this.registration === 'invite' && !this.invite.value.trim()) {
      return 'Enter your invite code.';
    }
    return '';
  }

  async submit() {
    if (this.busy) return;
    const username = this.user.value.trim();
    const password = this.pass.value;
    const problem = this.validate(username, password);
    if (problem) {
      this.showError(problem);
      const field = problem.includes('invite') ? this.invite
        : problem.includes('password') || problem.includes('Password') ? this.pass : this.user;
      field.focus();
      return;
    }
    const registering = this.mode === 'register';
    this.busy = true;
    this.submitButton.disabled = true;
    this.submitButton.textContent = registering ? 'Creating account…' : 'Signing in…';
    try {
      const invite = this.registration === 'invite' ? this.invite.value.trim() : '';
      const res = registering ? await api.register(username, password, invite) : await api.login(username, password);
      this.pass.value = '';
      this.invite.value = '';
      // The code is spent: the address bar should not keep offering it.
      if (location.search.includes('invite=')) history.replaceState(null, '', location.pathname + location.hash);
      this.onSignedIn(res.user);
    } catch (e) {
      this.showError(describeAuthError(e, registering));
      (e.code === 'invite_invalid' || e.code === 'invite_required' ? this.invite : this.pass).focus();
    } finally {
      this.busy = false;
      this.submitButton.disabled = false;
      this.submitButton.textContent = registering ? 'Create account' : 'Sign in';
    }
  }
}
