// Registering, signing in and out, and a session that survives a reload.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { browserSuite, config, screenshot, Server, PASSWORD } from './lib/harness.mjs';
import { message, send, signIn, waitConnected, waitForMessage, waitRoomLoaded } from './lib/ui.mjs';

const servers = [];  // more servers some tests start: stopped first, before the suite cleans up

after(async () => {
  for (const s of servers) await s.stop();
});
const { server, people, person } = browserSuite();

test('a new user registers, and the form explains what is wrong first', async () => {
  const { page } = await person('ana');
  await page.goto(server.url);
  await page.locator('#auth').waitFor();
  await page.locator('#tab-register').click();
  await page.locator('#auth-username').fill('ana');
  await page.locator('#auth-password').fill('short');
  await page.locator('#auth-submit').click();
  await assert.doesNotReject(page.locator('#auth-error', { hasText: 'at least 8 characters' }).waitFor());
  await page.locator('#auth-username').fill('-ana');
  await page.locator('#auth-password').fill(PASSWORD);
  await page.locator('#auth-submit').click();
  await page.locator('#auth-error', { hasText: 'starting with a letter or digit' }).waitFor();
  await screenshot(page, 'auth-register-error');

  await page.locator('#auth-username').fill('ana');
  await page.locator('#auth-submit').click();
  await waitConnected(page);
  await waitRoomLoaded(page, 'lobby');
  assert.equal(new URL(page.url()).pathname, '/r/lobby');
  assert.equal(await page.locator('#me-name').textContent(), 'ana');
  assert.match(await page.locator('#history-edge').textContent(), /very beginning of #lobby/);
  assert.equal(await page.title(), '#lobby · Parley');
  await screenshot(page, 'auth-registered');
});

test('the session survives a reload, and signing out ends it', async () => {
  const { page } = people[0];
  await page.reload();
  await waitConnected(page);
  assert.equal(await page.locator('#me-name').textContent(), 'ana');
  assert.equal(await page.locator('#auth').isHidden(), true);

  await page.locator('#sign-out').click();
  await page.locator('#auth').waitFor();
  await page.reload();
  await page.locator('#auth').waitFor();
  assert.equal(await page.locator('#app').isHidden(), true);
  const me = await page.evaluate(() => fetch('/api/me').then((r) => r.status));
  assert.equal(me, 401);
});

test('signing in: a wrong password is refused, the right one works', async () => {
  const { page } = people[0];
  await signIn(page, 'ana', 'not the password');
  await page.locator('#auth-error', { hasText: 'Wrong username or password' }).waitFor();
  await signIn(page, 'ANA', PASSWORD); // names are unique ignoring case
  await waitConnected(page);
  assert.equal(await page.locator('#me-name').textContent(), 'ana');
  // Signed in again in the same tab: one message is sent once.
  await send(page, 'Back again');
  await waitForMessage(page, 'Back again');
  await page.locator('#message-items li.msg[data-status="saved"], #message-items li.msg[data-status="sent"]').first().waitFor();
  assert.equal(await message(page, 'Back again').count(), 1);
  await screenshot(page, 'auth-signed-in');
});

test('a taken username is explained; the second user gets in with another', async () => {
  const { page } = await person('bo');
  await page.goto(`${server.url}/r/lobby`);
  await page.locator('#tab-register').click();
  await page.locator('#auth-username').fill('Ana');
  await page.locator('#auth-password').fill(PASSWORD);
  await page.locator('#auth-submit').click();
  await page.locator('#auth-error', { hasText: 'taken' }).waitFor();
  await page.locator('#auth-username').fill('bo');
  await page.locator('#auth-submit').click();
  await waitConnected(page);
  // ana is in the lobby too, so bo sees two people online.
  await page.locator('#member-list li.member', { hasText: 'ana' }).waitFor();
  await page.locator('#member-list li.member', { hasText: 'bo' }).waitFor();
});

test('a room link opens that room after signing in', async () => {
  const { page } = people[1];
  await page.locator('#sign-out').click();
  await page.locator('#auth').waitFor();
  await page.goto(`${server.url}/r/Design.Review`);
  await signIn(page, 'bo');
  await waitConnected(page);
  await waitRoomLoaded(page, 'design.review');
  assert.equal(await page.locator('#room-name').textContent(), 'design.review');
  assert.equal(new URL(page.url()).pathname, '/r/design.review');
  await page.locator('#room-list a[aria-current="page"]', { hasText: 'design.review' }).waitFor();
});

test('signing out and in as someone else in the same page: nothing of the first session runs on', async () => {
  const { page } = await person('cy');
  await page.goto(`${server.url}/r/lobby`);
  await page.locator('#tab-register').click();
  await page.locator('#auth-username').fill('cy');
  await page.locator('#auth-password').fill(PASSWORD);
  await page.locator('#auth-submit').click();
  await waitConnected(page);
  await waitRoomLoaded(page, 'lobby');
  await send(page, 'cy was here');
  // Saved, so signing out asks nothing.
  await message(page, 'cy was here').and(page.locator('[data-status="saved"]')).waitFor({ timeout: 15000 });
  await page.locator('#new-room').click();
  await page.locator('#room-input').fill('cy-only');
  await page.locator('#room-input').press('Enter');
  await waitRoomLoaded(page, 'cy-only');
  await page.locator('#room-list a[data-room="lobby"]').click();
  await waitRoomLoaded(page, 'lobby');

  // Signing out does not reload the page: each view removes what it
  // registered, so cy's views, socket and timers are gone, not hidden.
  await page.evaluate(() => { window.stillTheSamePage = true; });
  await page.locator('#sign-out').click();
  await page.locator('#auth').waitFor();
  await signIn(page, 'bo');
  await waitConnected(page);
  await waitRoomLoaded(page, 'lobby');
  assert.equal(await page.evaluate(() => window.stillTheSamePage), true);
  assert.equal(await page.locator('#me-name').textContent(), 'bo');
  // Only bo's rooms; cy's composer is not listening any more: one Enter
  // sends bo's message once, as bo.
  assert.equal(await page.locator('#room-list a[data-room="cy-only"]').count(), 0);
  await send(page, 'bo in the same tab');
  await waitForMessage(page, 'bo in the same tab');
  await page.locator('#message-items li.msg[data-author="bo"][data-status="saved"], #message-items li.msg[data-author="bo"][data-status="sent"]').first().waitFor();
  assert.equal(await message(page, 'bo in the same tab').count(), 1);
  assert.equal(await page.locator('#composer-input').inputValue(), '');
  // Everyone else sees it once too, from bo.
  const other = people[0].page;
  await waitForMessage(other, 'bo in the same tab');
  assert.equal(await message(other, 'bo in the same tab').count(), 1);
  assert.equal(await message(other, 'bo in the same tab').getAttribute('data-author'), 'bo');
  await page.waitForTimeout(300);
  assert.equal(await message(other, 'bo in the same tab').count(), 1);
});

test('registration by invite: the link fills in the code, a bad code is refused, the invitee gets in', async () => {
  const invited = await new Server(['--registration', 'invite']).start();
  servers.push(invited);
  // The operator makes the invite on the running server's database, as the README says.
  const out = execFileSync(config.bin, ['admin', 'invite', '--uses', '1', '--data-dir', invited.dataDir], { encoding: 'utf8' });
  const code = out.match(/^code:\s+(\S+)$/m)[1];

  const { page } = await person('dora');
  await page.goto(`${invited.url}/`);
  await page.locator('#auth').waitFor();
  await page.locator('#tab-register').click();
  await page.locator('#auth-invite-field').waitFor();  // the mode came from /api/registration
  await page.locator('#auth-username').fill('dora');
  await page.locator('#auth-password').fill(PASSWORD);
  await page.locator('#auth-invite').fill('not-a-real-code');
  await page.locator('#auth-submit').click();
  await page.locator('#auth-error', { hasText: 'expired or been used up' }).waitFor();
  assert.equal(invited.query('SELECT COUNT(*) FROM users'), '0');

  await page.goto(`${invited.url}/?invite=${code}`);
  await page.locator('#auth-invite-field').waitFor();
  assert.equal(await page.locator('#tab-register').getAttribute('aria-selected'), 'true');
  assert.equal(await page.locator('#auth-invite').inputValue(), code);
  await page.locator('#auth-username').fill('dora');
  await page.locator('#auth-password').fill(PASSWORD);
  await screenshot(page, 'auth-register-invite');
  await page.locator('#auth-submit').click();
  await waitConnected(page);
  assert.equal(await page.locator('#me-name').textContent(), 'dora');
  assert.equal(new URL(page.url()).search, '');  // the spent code left the address bar
  assert.equal(invited.query('SELECT uses_left FROM invites'), '0');

  // The first account is the admin: it may invite the next person.
  await page.locator('#invite-people').click();
  await page.locator('#invite-create').click();
  await page.locator('#invite-result').waitFor();
  assert.match(await page.locator('#invite-link').inputValue(), new RegExp(`^${invited.url}/\\?invite=[A-Za-z0-9_-]{22}$`));
  await screenshot(page, 'invite-dialog');
});
