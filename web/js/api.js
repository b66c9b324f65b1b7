// The HTTP side of the server: accounts, invites, the room directory and the
// search for people by name.
// The session lives in an HttpOnly cookie, so no token is kept in script.

export class ApiError extends Error {
  constructor(code, message, status, retryAfter) {
    super(message);
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function request(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError('network', 'The server cannot be reached. Check your connection and try again.', 0);
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    // not JSON: fall through to the status
  }
  if (!res.ok) {
    const retry = Number(res.headers.get('Retry-After')) || 0;
    throw new ApiError(data?.error ?? `http_${res.status}`, data?.message ?? res.statusText, res.status, retry);
  }
  return data;
}

export const api = {
  /** The signed-in user {id, username, admin, can_invite}, or null when there is no valid session. */
  async me() {
    try {
      return await request('GET', '/api/me');
    } catch (e) {
      if (e.status === 401) return null;
      throw e;
    }
  },
  /** @param invite the invite code, needed when registration is by invite */
  register: (username, password, invite) => request('POST', '/api/register', invite ? { username, password, invite } : { username, password }),
  /** {mode: 'open' | 'invite' | 'closed'}: who may create an account here. */
  registration: () => request('GET', '/api/registration'),
  /** {id, code, link, uses, uses_left, expires_at}; link is a path (/?invite=CODE). */
  createInvite: (uses, expiresInS) => request('POST', '/api/invites', { uses, expires_in_s: expiresInS }),
  /** {invites: [{id, created_by, created_at, expires_at, uses, uses_left}]} */
  invites: () => request('GET', '/api/invites'),
  revokeInvite: (id) => request('DELETE', `/api/invites/${encodeURIComponent(id)}`),
  login: (username, password) => request('POST', '/api/login', { username, password }),
  logout: () => request('POST', '/api/logout'),
  /** The server's public rooms: {rooms: [{id, name, title, last_seq, online}]} */
  rooms: () => request('GET', '/api/rooms'),
  /** People whose name starts with `prefix` (case-insensitive, at most 20): {users: [{id, username}]} */
  users: (prefix) => request('GET', `/api/users?q=${encodeURIComponent(prefix)}`),
};

/** The message to show for a failed sign-in or registration. */
export function describeAuthError(e, registering) {
  switch (e.code) {
    case 'bad_username': return 'Usernames are 1–32 letters, digits, “.”, “_” or “-”, starting with a letter or digit.';
    case 'bad_password': return 'Passwords need at least 8 characters (and at most 256 bytes).';
    case 'username_taken': return 'That username is taken. Pick another, or sign in if it is yours.';
    case 'wrong_credentials': return 'Wrong username or password.';
    case 'invite_required': return 'This server needs an invite code to create an account.';
    case 'invite_invalid': return 'That invite has expired or been used up. Ask for a new one.';
    case 'registration_closed': return 'Registration is closed on this server. Ask an administrator for an account.';
    case 'rate_limited': return `Too many attempts. Try again in ${e.retryAfter || 'a few'} seconds.`;
    case 'network': return e.message;
    default: return e.message || (registering ? 'The account could not be created.' : 'Sign-in failed.');
  }
}
