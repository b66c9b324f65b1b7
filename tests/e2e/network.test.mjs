// A bad network, as a browser sees it: the network disappears without a
// close (Chromium's offline emulation, for 45 s), the page is reloaded while
// the server cannot be reached, and the server is killed right after an edit
// and a reaction. Each ends with every view equal to the database.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, Person, screenshot, Server, sleep } from './lib/harness.mjs';
import { assertNoDuplicates, message, messageAction, messageTexts, openRoom, register, send, waitConnected, waitForMessage } from './lib/ui.mjs';

const ROOM = 'field';
const OFFLINE_MS = 45000;
let server;
let ana;
let bo;
const extra = [];

before(async () => {
  server = await new Server(['--presence-grace-ms', '500']).start();
  ana = await new Person('ana').launch();
  bo = await new Person('bo').launch();
  await register(ana.page, server.url, 'ana', { room: ROOM });
  await register(bo.page, server.url, 'bo', { room: ROOM });
});

after(async () => {
  for (const p of [ana, bo, ...extra]) await p?.close();
  await server?.stop();
  cleanupTemp();
  for (const p of [ana, bo, ...extra]) assert.deepEqual(p?.errors ?? [], [], `page errors of ${p?.name}`);
});

/** The room's messages in the database, oldest first: [text, edited?, deleted?]. */
function stored(srv, room) {
  const rows = srv.query(
    `SELECT m.text, m.edited_at > 0, m.deleted_at > 0 FROM messages m JOIN rooms r ON r.id = m.room_id WHERE r.name = '${room}' ORDER BY m.seq`);
  return rows ? rows.split('\n').map((r) => r.split('|')) : [];
}

/** The texts of the messages (not tombstones) a page shows with a seq, in order. */
function shownTexts(page) {
  return page.locator('#message-items li.msg:not(.deleted)[data-seq] .text').evaluateAll((els) => els.map(
    (e) => [...e.childNodes].filter((n) => !(n.classList?.contains('edited'))).map((n) => n.textContent).join('').trim()));
}

/**
 * Every view shows exactly what the database holds (texts of live messages,
 * in order), once the views have settled: polled until equal, then compared.
 */
async function viewsEqualDatabase(srv, room, pages, timeout = 15000) {
  const live = () => stored(srv, room).filter(([, , deleted]) => deleted === '0').map(([text]) => text);
  for (const page of pages) {
    const until = Date.now() + timeout;
    while (Date.now() < until && JSON.stringify(await shownTexts(page)) !== JSON.stringify(live())) await sleep(200);
    assert.deepEqual(await shownTexts(page), live());
    await assertNoDuplicates(page);
  }
}

/** How many outbox entries the page's user has (IndexedDB and its journal). */
function outboxSize(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const journal = Object.keys(localStorage).filter((k) => k.startsWith('parley:outbox-journal:'))
      .reduce((n, k) => n + Object.values(JSON.parse(localStorage.getItem(k))).filter(Boolean).length, 0);
    const req = indexedDB.open('parley');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const count = req.result.transaction('outbox').objectStore('outbox').count();
      count.onsuccess = () => resolve(count.result + journal);
    };
  }));
}

/** Waits until every outbox entry of the page's user is saved (a watermark covered it: on disk). */
async function outboxEmpty(page, timeout = 20000) {
  const until = Date.now() + timeout;
  while ((await outboxSize(page)) !== 0) {
    assert.ok(Date.now() < until, 'the outbox did not empty');
    await sleep(200);
  }
}

test('the network vanishes without a close for 45 s: offline is shown, the app reconnects by itself', async (t) => {
  await send(ana.page, 'Before the network went');
  await waitForMessage(bo.page, 'Before the network went');

  await ana.context.setOffline(true);
  let back;
  try {
    // The browser says it is offline: the app probes its socket and says so
    // within seconds, instead of "Connected" until a ping times out.
    await ana.page.locator('#conn-pill[data-state="offline"]').waitFor({ timeout: 10000 });
    await send(ana.page, 'Written with no network');
    await message(ana.page, 'Written with no network').and(ana.page.locator('[data-status="pending"]')).waitFor();
    await send(bo.page, 'Sent while ana had no network');
    await waitForMessage(bo.page, 'Sent while ana had no network');
    await sleep(OFFLINE_MS);
    // Still honest after the whole outage, and it never gave up.
    assert.equal(await ana.page.locator('#conn-pill').getAttribute('data-state'), 'offline');
    await screenshot(ana.page, 'network-offline-ana');
  } finally {
    back = Date.now();
    await ana.context.setOffline(false);
  }
  await waitConnected(ana.page, 10000);
  const reconnectMs = Date.now() - back;
  await waitForMessage(ana.page, 'Sent while ana had no network');
  await waitForMessage(bo.page, 'Written with no network');
  await outboxEmpty(ana.page);
  await viewsEqualDatabase(server, ROOM, [ana.page, bo.page]);
  t.diagnostic(`reconnected ${reconnectMs} ms after the network came back`);
});

test('a reload while the server is down shows the app and its outbox, not an error page', async () => {
  await server.stop('SIGKILL');
  await ana.page.locator('#conn-pill[data-state="reconnecting"], #conn-pill[data-state="offline"]').waitFor();
  await send(ana.page, 'Written during the outage');
  await message(ana.page, 'Written during the outage').and(ana.page.locator('[data-status="pending"]')).waitFor();

  await ana.page.reload();
  // The service worker serves the app; the outbox still holds the message.
  await ana.page.locator('#app:not([hidden])').waitFor({ timeout: 10000 });
  assert.equal(await ana.page.locator('#me-name').textContent(), 'ana');
  await message(ana.page, 'Written during the outage').and(ana.page.locator('[data-status="pending"]')).waitFor();
  await ana.page.locator('#conn-banner:not([hidden])').waitFor();
  await screenshot(ana.page, 'network-reload-outage-ana');

  await server.start();
  await waitConnected(ana.page, 20000);
  await waitConnected(bo.page, 20000);
  await waitForMessage(bo.page, 'Written during the outage');
  await outboxEmpty(ana.page);
  await viewsEqualDatabase(server, ROOM, [ana.page, bo.page]);
});

test('kill -9 right after an edit and a reaction: both are sent again and kept, never silently lost', async () => {
  // A server of its own whose writer commits only every 10 events (or after
  // 10 minutes), so the changes are certainly not on disk when it dies.
  const slow = await new Server(['--presence-grace-ms', '500', '--batch-delay-ms', '600000']).start();
  const cy = await new Person('cy').launch();
  const dee = await new Person('dee').launch();
  extra.push(cy, dee);
  const room = 'plans';
  await register(cy.page, slow.url, 'cy', { room });
  await register(dee.page, slow.url, 'dee', { room });
  await send(cy.page, 'Meeting at 3pm');
  await waitForMessage(dee.page, 'Meeting at 3pm');
  await message(cy.page, 'Meeting at 3pm').and(cy.page.locator('[data-seq]')).waitFor();
  // A clean restart stores it (the writer drains on SIGTERM).
  await slow.stop('SIGTERM');
  await slow.start();
  await message(cy.page, 'Meeting at 3pm').and(cy.page.locator('[data-status="saved"]')).waitFor({ timeout: 20000 });
  await waitConnected(dee.page, 20000);

  await messageAction(dee.page, 'Meeting at 3pm', 'react');
  await dee.page.locator('#reaction-picker [data-reaction="heart"]').click();
  await message(cy.page, 'Meeting at 3pm').locator('.chip[data-reaction="heart"]').waitFor();
  await messageAction(cy.page, 'Meeting at 3pm', 'edit');
  await cy.page.locator('#composer-input').fill('Meeting at 4pm');
  await cy.page.locator('#composer-input').press('Enter');
  // Both are shown to everyone, and both wait in their outboxes: not on disk.
  await message(dee.page, 'Meeting at 4pm').locator('.edited').waitFor();
  await message(dee.page, 'Meeting at 4pm').locator('.chip[data-reaction="heart"]').waitFor();
  await message(cy.page, 'Meeting at 4pm').and(cy.page.locator('[data-change]')).waitFor();
  assert.equal(await outboxSize(cy.page), 1);
  assert.equal(await outboxSize(dee.page), 1);

  await slow.stop('SIGKILL');
  for (const p of [cy, dee]) await p.page.locator('#conn-pill:not([data-state="connected"])').waitFor();
  await slow.start();
  for (const p of [cy, dee]) await waitConnected(p.page, 20000);
  // The restarted server lost both; the outboxes sent them again, so every
  // view still shows them...
  for (const page of [cy.page, dee.page]) {
    await message(page, 'Meeting at 4pm').locator('.chip[data-reaction="heart"] .count', { hasText: /^1$/ }).waitFor();
    assert.equal(await message(page, 'Meeting at 3pm').count(), 0);
  }
  // ...and once stored (a clean restart drains the writer; the outboxes send
  // them once more and are told they are already there), the database agrees.
  await slow.stop('SIGTERM');
  await slow.start();
  for (const p of [cy, dee]) await outboxEmpty(p.page);
  const [text, edited] = stored(slow, room).find(([t]) => t.startsWith('Meeting at'));
  assert.equal(text, 'Meeting at 4pm');
  assert.equal(edited, '1');
  assert.equal(slow.query(`SELECT COUNT(*) FROM reactions x JOIN rooms r ON r.id = x.room_id WHERE r.name = '${room}'`), '1');
  assert.equal(slow.query(`SELECT COUNT(*) FROM changes c JOIN rooms r ON r.id = c.room_id WHERE r.name = '${room}' AND c.kind IN (1, 3)`), '2',
    'each change stored once');
  await viewsEqualDatabase(slow, room, [cy.page, dee.page]);
  await slow.stop();
});

test('a reload after all that shows the same room', async () => {
  await openRoom(bo.page, server.url, ROOM);
  await viewsEqualDatabase(server, ROOM, [bo.page]);
});
