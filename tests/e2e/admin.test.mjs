// The admin console: the server answers /admin with 403 for members and 401
// for strangers; an administrator sees live numbers and disables a user from
// the page, whose open tab is signed out at once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSuite, screenshot } from './lib/harness.mjs';
import { register, send, waitForMessage } from './lib/ui.mjs';

const { server, people, person } = browserSuite();
const find = (name) => people.find((p) => p.name === name);

test('the page is refused by the server to anyone but an administrator', async () => {
  const ana = await person('ana');
  await register(ana.page, server.url, 'ana');  // the first account: the admin
  const bo = await person('bo');
  await register(bo.page, server.url, 'bo');
  await send(bo.page, 'hello from bo');
  await waitForMessage(bo.page, 'hello from bo');

  const adminTab = await bo.newPage();
  const refused = await adminTab.goto(`${server.url}/admin`);
  assert.equal(refused.status(), 403);
  assert.match(await adminTab.locator('body').textContent(), /Only administrators/);
  const direct = await adminTab.goto(`${server.url}/admin.html`);  // not a way around it
  assert.equal(direct.status(), 403);
  const api = await adminTab.evaluate(() => fetch('/api/admin/summary').then((r) => r.status));
  assert.equal(api, 403);
  await adminTab.close();

  const stranger = await person('stranger');
  const anonymous = await stranger.page.goto(`${server.url}/admin`);
  assert.equal(anonymous.status(), 401);
  await stranger.close();
});

test('an administrator sees live numbers and disables a user from the page', async () => {
  const [ana, bo] = [find('ana'), find('bo')];
  const page = await ana.newPage();
  const res = await page.goto(`${server.url}/admin`);
  assert.equal(res.status(), 200);
  await page.locator('body[data-loaded="yes"]').waitFor();
  // Two app tabs are connected (ana's and bo's); bo wrote a message.
  await page.locator('#n-connections', { hasText: '2' }).waitFor();
  assert.ok(Number(await page.locator('#n-messages').textContent()) >= 1);
  const row = page.locator('#users tr[data-user="bo"]');
  await row.locator('td', { hasText: 'active' }).waitFor();
  await page.locator('#rooms tr td', { hasText: 'lobby' }).first().waitFor();
  await screenshot(page, 'admin-console');

  // Disabling asks once more, then signs bo out everywhere at once.
  await row.locator('button[data-action="disable"]').click();
  await row.locator('button', { hasText: 'Sure? Disable' }).click();
  await page.locator('#admin-status', { hasText: 'disabled bo' }).waitFor();
  await page.locator('#users tr[data-user="bo"] td', { hasText: 'disabled' }).waitFor();
  await bo.page.locator('#auth').waitFor({ state: 'visible' });
  const me = await bo.page.evaluate(() => fetch('/api/me').then((r) => r.status));
  assert.equal(me, 401);
  await page.locator('#n-connections', { hasText: '1' }).waitFor();
  await screenshot(page, 'admin-disabled');
  await page.close();
});
