// Rooms with people in them: who joined, who was invited or removed, as
// lines of the timeline; the room list of every tab; private rooms,
// invitations, direct conversations and moderation, with several people in
// separate browsers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSuite, screenshot } from './lib/harness.mjs';
import { message, openRoom, register, send, waitConnected, waitForMessage, waitRoomLoaded } from './lib/ui.mjs';
import { userId, wire } from './lib/wire.mjs';

const { server, people, person } = browserSuite(['--message-rate', '300/300']);

/** Closes the browsers of people the later tests do not need (the machine has two cores); their errors still count. */
async function retire(...names) {
  for (const p of people) if (names.includes(p.name)) await p.close();
}

/** The timeline as text, in order: messages as they read, room events as "· line". */
function timeline(page) {
  return page.locator('#message-items > li.msg, #message-items > li.sys-line').evaluateAll((els) => els.map((e) => (
    e.classList.contains('sys-line') ? `· ${e.querySelector('.sys-text').textContent}` : e.querySelector('.text').textContent.trim())));
}

function systemLine(page, text) {
  return page.locator('#message-items li.sys-line', { hasText: text });
}

test('room events are compact lines of the timeline: live, replayed after a dropped connection, and after a reload', async () => {
  const ana = await person('ana');
  const bo = await person('bo');
  // bo's WebSocket runs through a switch the test can open.
  let down = false;
  let link = null;
  await bo.page.routeWebSocket(/\/ws$/, (ws) => {
    if (down) return ws.close({ code: 4000, reason: 'network down' });
    link = { page: ws, server: ws.connectToServer() };
    return undefined;
  });
  const room = 'plans';
  await register(ana.page, server.url, 'ana', { room });
  await register(bo.page, server.url, 'bo', { room });

  // Live: bo's first join is an event both see.
  await systemLine(ana.page, 'bo joined').waitFor();
  await systemLine(bo.page, 'bo joined').waitFor();
  await send(ana.page, 'Welcome, bo');
  await waitForMessage(bo.page, 'Welcome, bo');

  // A change made on another device of ana's: the topic.
  const anaWire = await wire(ana, server.url);
  const joined = await anaWire.join(room);
  await anaWire.manage(joined.room_id, { action: 'topic_set', text: 'Ship it on Friday' });
  await systemLine(bo.page, 'ana set the topic: Ship it on Friday').waitFor();
  await bo.page.locator('#room-topic', { hasText: 'Ship it on Friday' }).waitFor();
  await systemLine(ana.page, 'ana set the topic: Ship it on Friday').waitFor();

  // Replayed: made while bo's connection is down, seen once it is back.
  down = true;
  await link.server.close();
  await link.page.close({ code: 1013, reason: 'slow consumer: reconnect and resync' });
  await bo.page.locator('#conn-pill[data-state="reconnecting"]').waitFor();
  await anaWire.manage(joined.room_id, { action: 'role_set', user_id: await userId(bo.page), role: 'moderator' });
  await systemLine(ana.page, 'ana made bo a moderator').waitFor();
  await send(ana.page, 'You moderate now');
  await waitForMessage(ana.page, 'You moderate now');
  down = false;
  await bo.page.locator('#conn-retry').click({ timeout: 5000 }).catch(() => {});
  await waitConnected(bo.page);
  await systemLine(bo.page, 'ana made bo a moderator').waitFor();
  await waitForMessage(bo.page, 'You moderate now');

  // In the order of the room's events, among the messages; only once each.
  const expected = ['· bo joined', 'Welcome, bo', '· ana set the topic: Ship it on Friday', '· ana made bo a moderator', 'You moderate now'];
  assert.deepEqual(await timeline(bo.page), expected);
  assert.equal(await bo.page.locator('#message-items li.msg').count(), 2, 'room events are not messages');
  await screenshot(bo.page, 'room-events-bo');

  // After a reload, the page (messages only) and the events seen before.
  await bo.page.reload();
  await waitConnected(bo.page);
  await waitRoomLoaded(bo.page, room);
  await waitForMessage(bo.page, 'You moderate now');
  assert.deepEqual(await timeline(bo.page), expected);
  await anaWire.close();
});

/** The names of the rooms and conversations in the sidebar, section by section. */
async function sidebar(page) {
  const names = (list) => page.locator(`#${list} .room-link-name`).allTextContents();
  return { rooms: await names('room-list'), direct: await names('direct-list') };
}

test('the room list is the server\'s: invitations are accepted or declined, and every tab shows the same list', async () => {
  const ana = people.find((p) => p.name === 'ana');
  const cy = await person('cy');
  await register(cy.page, server.url, 'cy');
  const cyId = await userId(cy.page);

  // ana makes a private room on another device and invites cy to it.
  const anaWire = await wire(ana, server.url);
  const garden = await anaWire.request({ type: 'create_room', client_id: 101, name: 'Secret garden', room_type: 'private' }, 'room_joined');
  assert.match(garden.room, /^~[a-z2-7]{22}$/);
  // ana's page learns of it from the room list, like any tab of hers.
  await ana.page.locator(`#room-list a[data-room="${garden.room}"]`, { hasText: 'Secret garden' }).waitFor();
  await anaWire.manage(garden.room_id, { action: 'invited', user_id: cyId });

  const invite = cy.page.locator('#invite-list .invite-item', { hasText: 'Secret garden' });
  await invite.waitFor();
  assert.match(await invite.textContent(), /from ana/);
  await cy.page.locator('.toast', { hasText: 'ana invited you to Secret garden' }).waitFor();
  await screenshot(cy.page, 'invitation-cy');
  await invite.getByRole('button', { name: /^Accept/ }).click();
  await waitRoomLoaded(cy.page, garden.room);
  assert.equal(new URL(cy.page.url()).pathname, `/r/${garden.room}`);
  await cy.page.locator('#room-name', { hasText: 'Secret garden' }).waitFor();
  await cy.page.locator('#invites-section').waitFor({ state: 'hidden' });
  await cy.page.locator(`#room-list a[data-room="${garden.room}"]`, { hasText: 'Secret garden' }).waitFor();
  await send(cy.page, 'Thanks for having me');
  await openRoom(ana.page, server.url, garden.room);
  await waitForMessage(ana.page, 'Thanks for having me');
  await systemLine(ana.page, 'cy joined (invited by ana)').waitFor();

  // A second invitation, declined: it goes, and the room's people see why.
  const other = await anaWire.request({ type: 'create_room', client_id: 102, name: 'Not for cy', room_type: 'private' }, 'room_joined');
  await anaWire.manage(other.room_id, { action: 'invited', user_id: cyId });
  const second = cy.page.locator('#invite-list .invite-item', { hasText: 'Not for cy' });
  await second.getByRole('button', { name: /^Decline/ }).click();
  await second.waitFor({ state: 'detached' });
  await openRoom(ana.page, server.url, other.room);
  await systemLine(ana.page, 'cy declined the invitation').waitFor();
  assert.equal(await cy.page.locator(`#room-list a[data-room="${other.room}"]`).count(), 0);

  // Every tab of cy's shows the same list; leaving in one leaves it in all.
  const tab = await cy.newPage();
  await openRoom(tab, server.url, 'lobby');
  await tab.locator(`#room-list a[data-room="${garden.room}"]`).waitFor();
  assert.deepEqual(await sidebar(tab), await sidebar(cy.page));
  const item = tab.locator('#room-list li.room-item', { hasText: 'Secret garden' });
  await item.hover();
  await item.locator('button.leave').click();
  await tab.locator('#confirm-dialog[open]', { hasText: 'Leave Secret garden?' }).waitFor();
  assert.match(await tab.locator('#confirm-text').textContent(), /new invitation/);
  await tab.locator('#confirm-ok').click();
  await item.waitFor({ state: 'detached' });
  // The first tab was in the room: it leaves its view, and says why.
  await cy.page.locator(`#room-list a[data-room="${garden.room}"]`).waitFor({ state: 'detached' });
  await cy.page.locator('.toast', { hasText: 'You left Secret garden.' }).waitFor();
  assert.notEqual(new URL(cy.page.url()).pathname, `/r/${garden.room}`);
  await openRoom(ana.page, server.url, garden.room);
  await systemLine(ana.page, 'cy left').waitFor();
  assert.deepEqual(await sidebar(tab), await sidebar(cy.page));
  await tab.close();
  await anaWire.close();
  await retire('ana', 'bo', 'cy');
});

test('a direct conversation: picked by name, it appears for both, and the same two always share it', async () => {
  const dee = await person('dee');
  const eve = await person('eve');
  await register(dee.page, server.url, 'dee');
  await register(eve.page, server.url, 'eve');
  await dee.page.locator('#new-direct').click();
  await dee.page.locator('#direct-dialog[open]').waitFor();
  // What is typed goes to the server's search (GET /api/users?q=).
  const searched = dee.page.waitForResponse((r) => new URL(r.url()).pathname === '/api/users' && new URL(r.url()).searchParams.get('q') === 'ev');
  await dee.page.locator('#direct-input').pressSequentially('ev', { delay: 30 });
  const found = await (await searched).json();
  assert.deepEqual(found.users.map((u) => u.username), ['eve']);
  await dee.page.locator('#direct-results [role="option"]', { hasText: 'eve' }).click();
  await dee.page.locator('#direct-picked .picked-person', { hasText: 'eve' }).waitFor();
  await screenshot(dee.page, 'direct-picker');
  await dee.page.locator('#direct-open').click();
  await dee.page.locator('#direct-dialog').waitFor({ state: 'hidden' });
  await dee.page.locator('#room-name', { hasText: /^eve$/ }).waitFor();
  const address = decodeURIComponent(new URL(dee.page.url()).pathname.slice(3));
  assert.match(address, /^~[a-z2-7]{22}$/);
  await waitRoomLoaded(dee.page, address);
  await dee.page.locator(`#direct-list a[data-room="${address}"]`, { hasText: 'eve' }).waitFor();

  // eve has it too, by dee's name, at once.
  const onEve = eve.page.locator(`#direct-list a[data-room="${address}"]`, { hasText: 'dee' });
  await onEve.waitFor();
  await send(dee.page, 'Just between us');
  await onEve.locator('.badge', { hasText: /^1$/ }).waitFor();
  await onEve.click();
  await waitForMessage(eve.page, 'Just between us');
  await eve.page.locator('#room-name', { hasText: /^dee$/ }).waitFor();
  await screenshot(eve.page, 'direct-eve');

  // Picking dee from eve's side opens the same conversation.
  await openRoom(eve.page, server.url, 'lobby');
  await eve.page.locator('#new-direct').click();
  await eve.page.locator('#direct-input').fill('de');
  await eve.page.locator('#direct-results [role="option"]', { hasText: 'dee' }).click();
  await eve.page.locator('#direct-open').click();
  await waitRoomLoaded(eve.page, address);
  await waitForMessage(eve.page, 'Just between us');
  assert.equal(await eve.page.locator('#direct-list li.room-item').count(), 1);
});

test('a private room made from the dialog has an address of its own and is not in the directory', async () => {
  const dee = people.find((p) => p.name === 'dee');
  const eve = people.find((p) => p.name === 'eve');
  await dee.page.locator('#new-room').click();
  await dee.page.locator('#room-dialog[open]').waitFor();
  await dee.page.locator('#room-dialog label.kind-option', { hasText: 'Private' }).click();
  await dee.page.locator('#room-input').fill('Launch plans 🚀');
  await dee.page.locator('#room-join', { hasText: 'Create' }).click();
  await dee.page.locator('#room-name', { hasText: 'Launch plans 🚀' }).waitFor();
  const address = decodeURIComponent(new URL(dee.page.url()).pathname.slice(3));
  assert.match(address, /^~[a-z2-7]{22}$/);
  await waitRoomLoaded(dee.page, address);
  await dee.page.locator(`#room-list li.room-item[data-kind="private"] a[data-room="${address}"]`).waitFor();
  await screenshot(dee.page, 'private-room-created');

  // Nobody else finds it in the directory.
  await eve.page.keyboard.press('Control+K');
  await eve.page.locator('#room-dialog[open]').waitFor();
  await eve.page.locator('#existing-rooms .existing-room', { hasText: 'lobby' }).waitFor();
  assert.equal(await eve.page.locator('#existing-rooms', { hasText: 'Launch' }).count(), 0);
  const directory = await eve.page.evaluate(async () => (await (await fetch('/api/rooms')).json()).rooms.map((r) => r.name));
  assert.ok(!directory.includes(address) && !directory.some((n) => n.includes('launch')), `directory: ${directory}`);
  await eve.page.locator('#room-cancel').click();
});

/** Opens the settings of the room in view. */
async function openSettings(page) {
  await page.locator('#room-settings').click();
  await page.locator('#settings-dialog[open]').waitFor();
}

/** In the open settings: an action on a person, from their menu. */
async function memberAction(page, name, action, { confirm = false } = {}) {
  const row = page.locator(`#settings-member-list li.member-row[data-user="${name}"]`);
  if (!(await row.evaluate((li) => li.classList.contains('open')))) await row.locator('[data-menu]').click();
  await row.locator(`[data-act="${action}"]`).click();
  if (confirm) {
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.locator('#confirm-ok').click();
  }
}

/** In the open settings: invites someone found by name. */
async function inviteByName(page, name) {
  await page.locator('#settings-invite-input').fill(name);
  await page.locator(`#settings-invite-results [role="option"][data-user-name="${name}"]`).click();
  await page.locator(`#settings-member-list li.member-row[data-user="${name}"][data-state="invited"]`).waitFor();
}

test('moderation from the settings: invite by name, roles, a moderator deletes a message, mute, kick, ban and unban, delete', async () => {
  const gus = await person('gus');
  const hal = await person('hal');
  const ivy = await person('ivy');
  await register(gus.page, server.url, 'gus');
  await register(hal.page, server.url, 'hal');
  await register(ivy.page, server.url, 'ivy');

  await gus.page.locator('#new-room').click();
  await gus.page.locator('#room-dialog label.kind-option', { hasText: 'Private' }).click();
  await gus.page.locator('#room-input').fill('Ops');
  await gus.page.locator('#room-input').press('Enter');
  await gus.page.locator('#room-name', { hasText: /^Ops$/ }).waitFor();
  const ops = decodeURIComponent(new URL(gus.page.url()).pathname.slice(3));
  await waitRoomLoaded(gus.page, ops);

  // Invitations by name, from the settings; accepted from the sidebar.
  await openSettings(gus.page);
  await gus.page.locator('#settings-member-list li.member-row[data-user="gus"][data-role="owner"]').waitFor();
  await inviteByName(gus.page, 'hal');
  await inviteByName(gus.page, 'ivy');
  await screenshot(gus.page, 'settings-invited');
  for (const p of [hal, ivy]) {
    await p.page.locator('#invite-list .invite-item', { hasText: 'Ops' }).getByRole('button', { name: /^Accept/ }).click();
    await waitRoomLoaded(p.page, ops);
  }
  await gus.page.locator('#settings-member-list li.member-row[data-user="ivy"][data-state="member"]').waitFor();

  // hal becomes a moderator: he may delete anyone's message, and set the topic.
  await memberAction(gus.page, 'hal', 'role_set');
  await gus.page.locator('#settings-member-list li.member-row[data-user="hal"][data-role="moderator"]').waitFor();
  await systemLine(hal.page, 'gus made hal a moderator').waitFor();
  await send(ivy.page, 'oops, wrong room');
  await waitForMessage(hal.page, 'oops, wrong room');
  const wrong = message(hal.page, 'oops, wrong room');
  await wrong.hover();
  await wrong.locator('[data-action="delete"]').click();
  await hal.page.locator('#confirm-dialog[open]', { hasText: "Delete ivy's message?" }).waitFor();
  await hal.page.locator('#confirm-ok').click();
  for (const p of [ivy, gus, hal]) {
    await p.page.locator('#message-items li.msg.deleted .tombstone', { hasText: 'This message was deleted by hal.' }).waitFor();
  }
  // ivy, a member, has no delete on others' messages.
  await send(hal.page, 'Moderating now');
  await waitForMessage(ivy.page, 'Moderating now');
  await message(ivy.page, 'Moderating now').hover();
  assert.equal(await message(ivy.page, 'Moderating now').locator('[data-action="delete"], [data-action="edit"]').count(), 0);
  await openSettings(hal.page);
  await hal.page.locator('#settings-topic').fill('Incidents only');
  await hal.page.locator('#settings-topic-save').click();
  await ivy.page.locator('#room-topic', { hasText: 'Incidents only' }).waitFor();
  await systemLine(ivy.page, 'hal set the topic: Incidents only').waitFor();
  // A member has nothing to do with others, and reads the topic only.
  await openSettings(ivy.page);
  assert.equal(await ivy.page.locator('#settings-member-list [data-menu]').count(), 0);
  assert.equal(await ivy.page.locator('#settings-topic').getAttribute('readonly'), '');
  assert.equal(await ivy.page.locator('#settings-delete').isHidden(), true);
  await ivy.page.locator('#settings-close').click();
  await hal.page.locator('#settings-close').click();

  // Muted: ivy reads, but cannot write, until unmuted.
  await memberAction(gus.page, 'ivy', 'muted');
  await ivy.page.locator('#composer-input[disabled][placeholder*="muted"]').waitFor();
  await systemLine(ivy.page, 'ivy was muted by gus').waitFor();
  await memberAction(gus.page, 'ivy', 'unmuted');
  await ivy.page.locator('#composer-input:not([disabled])').waitFor();

  // Removed: ivy's view leaves the room at once and says why.
  await memberAction(gus.page, 'ivy', 'kicked', { confirm: true });
  await ivy.page.locator('.toast', { hasText: 'You were removed from Ops by gus.' }).waitFor();
  await ivy.page.locator(`#room-list a[data-room="${ops}"]`).waitFor({ state: 'detached' });
  assert.notEqual(new URL(ivy.page.url()).pathname, `/r/${ops}`);
  await screenshot(ivy.page, 'kicked-ivy');
  await systemLine(gus.page, 'ivy was removed by gus').waitFor();
  await gus.page.locator('#settings-member-list li.member-row[data-user="ivy"]').waitFor({ state: 'detached' });
  // The way back is closed: the address answers like any other.
  await ivy.page.goto(`${server.url}/r/${ops}`);
  await ivy.page.locator('#history-edge[data-state="denied"]').waitFor();

  // Banned, then unbanned.
  await memberAction(gus.page, 'hal', 'banned', { confirm: true });
  await hal.page.locator('.toast', { hasText: 'You were banned from Ops by gus.' }).waitFor();
  await gus.page.locator('#settings-member-list li.member-row[data-user="hal"][data-state="banned"]').waitFor();
  await systemLine(gus.page, 'hal was banned by gus').waitFor();
  await memberAction(gus.page, 'hal', 'unbanned');
  await gus.page.locator('#settings-member-list li.member-row[data-user="hal"]').waitFor({ state: 'detached' });
  await systemLine(gus.page, 'hal was unbanned by gus').waitFor();

  // The owner deletes the room: it goes from the list.
  await gus.page.locator('#settings-delete').click();
  await gus.page.locator('#confirm-dialog[open]', { hasText: 'Delete Ops?' }).waitFor();
  await gus.page.locator('#confirm-ok').click();
  await gus.page.locator(`#room-list a[data-room="${ops}"]`).waitFor({ state: 'detached' });
  await gus.page.locator('#settings-dialog').waitFor({ state: 'hidden' });
  assert.notEqual(new URL(gus.page.url()).pathname, `/r/${ops}`);
  await retire('gus', 'hal', 'ivy');
});

test('a private room\'s link opened by anyone else: no access, and nothing else, exactly as for no room at all', async () => {
  const dee = people.find((p) => p.name === 'dee');
  const eve = people.find((p) => p.name === 'eve');
  // dee's "Launch plans" room (made from the dialog above), with a message in it.
  const launch = await dee.page.locator('#room-list li.room-item[data-kind="private"] a', { hasText: 'Launch plans' }).getAttribute('data-room');
  await openRoom(dee.page, server.url, launch);
  await send(dee.page, 'Launch is on the 3rd, keep it quiet');
  await waitForMessage(dee.page, 'Launch is on the 3rd, keep it quiet');

  const page = eve.page;
  /** What the chat pane, the room list and the tab say. */
  const seen = async () => ({
    title: await page.title(),
    header: await page.locator('#room-name').textContent(),
    edge: (await page.locator('#history-edge').innerText()).replace(/\s+/g, ' '),
    rows: await page.locator('#message-items > li').count(),
    online: await page.locator('#member-list').innerText(),
    composer: await page.locator('#composer-input').isDisabled(),
    settings: await page.locator('#room-settings').isHidden(),
  });
  const opened = async (address) => {
    await page.goto(`${server.url}/r/${address}`);
    await waitConnected(page);
    await page.locator('#history-edge[data-state="denied"]').waitFor();
    await page.waitForTimeout(300); // anything more the server might say has arrived
    return seen();
  };
  const denied = await opened(launch);
  assert.deepEqual(denied, {
    title: 'Parley',
    header: 'Room unavailable',
    edge: "You don't have access to this room, or it doesn't exist Check the link, or ask someone in the room to invite you.",
    rows: 0,
    online: '',
    composer: true,
    settings: true,
  });
  const body = await page.locator('body').innerText();
  assert.ok(!body.includes('Launch') && !body.includes('keep it quiet'), `nothing of the room shows:\n${body}`);
  assert.equal(await page.locator('.toast').count(), 0, 'no other error');
  assert.equal(await page.locator(`#room-list a[data-room="${launch}"], #direct-list a[data-room="${launch}"]`).count(), 0);
  await screenshot(page, 'no-access-eve');

  // An address of no room, and one no room can have, look the same.
  assert.deepEqual(await opened('~aaaaaaaaaaaaaaaaaaaaaa'), denied);
  assert.deepEqual(await opened('~not-an-address'), denied);
  assert.equal(await page.locator('.toast').count(), 0);
  // The way out is the room list.
  await page.locator('#room-list a[data-room="lobby"]').click();
  await waitRoomLoaded(page, 'lobby');
  await retire('dee', 'eve');
});

test('a private room end to end: created, one person invited who accepts, they chat; a stranger finds nothing and opens nothing', async () => {
  const jo = await person('jo');
  const kit = await person('kit');
  const lev = await person('lev');
  for (const p of [jo, kit, lev]) await register(p.page, server.url, p.name);

  // jo creates it from the dialog.
  await jo.page.locator('#new-room').click();
  await jo.page.locator('#room-dialog label.kind-option', { hasText: 'Private' }).click();
  await jo.page.locator('#room-input').fill('Quarterly numbers');
  await jo.page.locator('#room-join').click();
  await jo.page.locator('#room-name', { hasText: 'Quarterly numbers' }).waitFor();
  const address = decodeURIComponent(new URL(jo.page.url()).pathname.slice(3));
  await waitRoomLoaded(jo.page, address);

  // ...invites kit by name from its settings...
  await openSettings(jo.page);
  await inviteByName(jo.page, 'kit');
  await jo.page.locator('#settings-close').click();
  await systemLine(jo.page, 'kit was invited by jo').waitFor();

  // ...kit accepts, and they talk.
  await kit.page.locator('#invite-list .invite-item', { hasText: 'Quarterly numbers' }).getByRole('button', { name: /^Accept/ }).click();
  await waitRoomLoaded(kit.page, address);
  await send(kit.page, 'Here, thanks for the invite');
  await waitForMessage(jo.page, 'Here, thanks for the invite');
  await send(jo.page, 'Revenue is up 12%');
  await waitForMessage(kit.page, 'Revenue is up 12%');
  await systemLine(kit.page, 'kit joined (invited by jo)').waitFor();
  await jo.page.locator('#member-list li.member[data-user="kit"]').waitFor();
  await screenshot(kit.page, 'private-room-kit');

  // lev: not in the directory, not in his room list, and its link says no access.
  await lev.page.locator('#new-room').click();
  await lev.page.locator('#existing-rooms .existing-room', { hasText: 'lobby' }).waitFor();
  assert.equal(await lev.page.locator('#existing-rooms', { hasText: 'Quarterly' }).count(), 0);
  await lev.page.locator('#room-input').fill('quarterly');
  await lev.page.locator('#existing-rooms .muted', { hasText: 'No public room has that name' }).waitFor();
  await lev.page.locator('#room-cancel').click();
  await lev.page.goto(`${server.url}/r/${address}`);
  await waitConnected(lev.page);
  await lev.page.locator('#history-edge[data-state="denied"]', { hasText: "You don't have access to this room, or it doesn't exist" }).waitFor();
  const body = await lev.page.locator('body').innerText();
  assert.ok(!/Quarterly|Revenue|thanks for the invite/.test(body), `lev sees nothing of the room:\n${body}`);
  // Nor does a join by hand say more than for an address of no room.
  const levWire = await wire(lev, server.url);
  const refusals = [];
  for (const room of [address, '~aaaaaaaaaaaaaaaaaaaaaa']) {
    await levWire.join(room).catch((e) => refusals.push(e.message));
  }
  assert.deepEqual(refusals, ['join_room refused: 116 no such room, or you do not have access to it', 'join_room refused: 116 no such room, or you do not have access to it']);
  await levWire.close();
});

test('a kick while the victim has two tabs on the room: both leave it at once, the others see who did it', async () => {
  const jo = people.find((p) => p.name === 'jo');
  const kit = people.find((p) => p.name === 'kit');
  const address = await jo.page.locator('#room-list a', { hasText: 'Quarterly numbers' }).getAttribute('data-room');
  const second = await kit.newPage();
  await openRoom(kit.page, server.url, address);
  await openRoom(second, server.url, address);
  await waitForMessage(second, 'Revenue is up 12%');
  // kit is typing in one tab when it happens.
  await kit.page.locator('#composer-input').pressSequentially('One more thing', { delay: 20 });
  await jo.page.locator('#typing', { hasText: 'kit is typing' }).waitFor();

  await openRoom(jo.page, server.url, address);
  await openSettings(jo.page);
  await memberAction(jo.page, 'kit', 'kicked', { confirm: true });
  for (const page of [kit.page, second]) {
    await page.locator('.toast', { hasText: 'You were removed from Quarterly numbers by jo.' }).waitFor();
    await page.locator(`#room-list a[data-room="${address}"]`).waitFor({ state: 'detached' });
    assert.notEqual(new URL(page.url()).pathname, `/r/${address}`);
    assert.equal(await page.locator('#message-items', { hasText: 'Revenue is up 12%' }).count(), 0);
  }
  await jo.page.locator('#settings-close').click();
  await systemLine(jo.page, 'kit was removed by jo').waitFor();
  // kit's typing and presence are gone from the room with him.
  await jo.page.locator('#typing.active').waitFor({ state: 'detached' });
  await jo.page.locator('#member-list li.member[data-user="kit"]').waitFor({ state: 'detached' });
  await screenshot(jo.page, 'kicked-jo');
  // A private room takes a new invitation to come back.
  await second.goto(`${server.url}/r/${address}`);
  await second.locator('#history-edge[data-state="denied"]').waitFor();
  await second.close();
});

test('a public room made private from its settings moves to a new address for its people; ownership is given away', async () => {
  const jo = people.find((p) => p.name === 'jo');
  const lev = people.find((p) => p.name === 'lev');
  const room = 'roadmap';
  await openRoom(jo.page, server.url, room);
  await openRoom(lev.page, server.url, room);
  await send(lev.page, 'Public for now');
  await waitForMessage(jo.page, 'Public for now');

  await openSettings(jo.page);
  await jo.page.locator('#settings-dialog label.kind-option', { hasText: 'Private' }).click();
  for (const p of [jo, lev]) {
    await p.page.waitForFunction(() => /^\/r\/~[a-z2-7]{22}$/.test(decodeURIComponent(location.pathname)));
    await systemLine(p.page, 'the room is now private (changed by jo)').waitFor();
    await p.page.locator('#room-list li.room-item[data-kind="private"]', { hasText: 'roadmap' }).waitFor();
  }
  const address = decodeURIComponent(new URL(jo.page.url()).pathname.slice(3));
  assert.equal(decodeURIComponent(new URL(lev.page.url()).pathname.slice(3)), address);
  // The conversation goes on at the new address, and survives a reload there.
  await send(lev.page, 'Private now');
  await waitForMessage(jo.page, 'Private now');
  await lev.page.reload();
  await waitRoomLoaded(lev.page, address);
  await waitForMessage(lev.page, 'Public for now');
  const directory = await lev.page.evaluate(async () => (await (await fetch('/api/rooms')).json()).rooms.map((r) => r.name));
  assert.ok(!directory.includes(room), `no longer in the directory: ${directory}`);

  // jo makes lev the owner: the roles swap, and lev's settings offer deleting the room.
  await memberAction(jo.page, 'lev', 'ownership_given', { confirm: true });
  await jo.page.locator('#settings-member-list li.member-row[data-user="lev"][data-role="owner"]').waitFor();
  await jo.page.locator('#settings-member-list li.member-row[data-user="jo"][data-role="moderator"]').waitFor();
  await jo.page.locator('#settings-delete').waitFor({ state: 'hidden' });
  await systemLine(lev.page, 'jo made lev the owner').waitFor();
  await openSettings(lev.page);
  await lev.page.locator('#settings-delete').waitFor();
  await lev.page.locator('#settings-close').click();
  await jo.page.locator('#settings-close').click();
});
