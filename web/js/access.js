// Who may do what in a room (docs/protocol.md 9.13), mirrored so that the
// views offer only what the server would allow. The server decides: these
// only spare the user a refusal.
//
// A server administrator may do in any room what a moderator may. Acting on
// a person needs a standing above theirs: a moderator acts on members and
// invitees, the owner on everyone; nobody acts on themselves but to leave.
// A direct conversation has fixed people and no moderators: leaving is all.

const RANK = { member: 0, moderator: 1, owner: 2 };

/** My standing in a room: 0 member, 1 moderator (or a server administrator), 2 owner. */
export function standing(room, me) {
  return Math.max(RANK[room.role] ?? 0, me.admin ? 1 : 0);
}

/** Whether I may moderate the room: delete others' messages, kick, ban, mute, set its title, topic and kind. */
export function canModerate(room, me) {
  return room.kind !== 'direct' && standing(room, me) >= 1;
}

/** Whether I may invite people to the room. */
export function canInvite(room) {
  return room.kind !== 'direct';
}

/** Whether I may delete the room. */
export function canDeleteRoom(room) {
  return room.kind !== 'direct' && room.role === 'owner';
}

/** Whether I may delete this message: mine, or anyone's when I moderate the room. */
export function canDeleteMessage(room, me, rec) {
  return rec.author_id === me.id || canModerate(room, me);
}

/**
 * The manage_room actions I may take on one person the room knows
 * ({id, name, state, role, muted}), in the order a menu shows them:
 * each {action, role?, label, danger?}.
 */
export function actionsOn(room, me, person) {
  if (room.kind === 'direct' || person.id === me.id) return [];
  const mine = standing(room, me);
  if (mine < 1) return [];
  if (person.state === 'banned') return [{ action: 'unbanned', label: 'Unban' }];
  if (mine <= (RANK[person.role] ?? 0)) return [];
  if (person.state === 'invited') return [{ action: 'kicked', label: 'Withdraw the invitation', danger: true }];
  const out = [];
  if (person.role === 'member') out.push({ action: 'role_set', role: 'moderator', label: 'Make moderator' });
  else if (person.role === 'moderator') out.push({ action: 'role_set', role: 'member', label: 'Make member' });
  if (room.role === 'owner') out.push({ action: 'ownership_given', label: 'Give ownership' });
  out.push(person.muted ? { action: 'unmuted', label: 'Unmute' } : { action: 'muted', label: 'Mute' });
  out.push({ action: 'kicked', label: 'Remove from the room', danger: true });
  out.push({ action: 'banned', label: 'Ban', danger: true });
  return out;
}
