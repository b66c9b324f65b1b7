// Nothing a client sent is lost, nothing is shown twice: the server is
// killed with SIGKILL (so its batch writer loses whatever it had not
// committed) and restarted on the same port and data directory while ana
// keeps typing and sending; the last message even waits out a closed tab in
// the IndexedDB outbox. Both people end up seeing every message exactly once,
// and the database holds each exactly once.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, Person, screenshot, Server, sleep } from './lib/harness.mjs';
import { assertNoDuplicates, message, messageTexts, openRoom, register, send, waitConnected, waitForMessage } from './lib/ui.mjs';

const ROOM = 'ops';
const label = (i) => `m${String(i).padStart(2, '0')} status update`;
let server;
let ana;
let bo;

before(async () => {
  server = await new Server(['--presence-grace-ms', '500']).start();
  ana = await new Person('ana').launch();
  bo = await new Person('bo').launch();
  await register(ana.page, server.url, 'ana', { room: ROOM });
  await register(bo.page, server.url, 'bo', { room: ROOM });
});

after(async () => {
  for (const p of [ana, bo]) await p?.close();
  await server?.stop();
  cleanupTemp();
  for (const p of [ana, bo]) assert.deepEqual(p?.errors ?? [], [], `page errors of ${p?.name}`);
});

/** Entries in ana's IndexedDB outbox, oldest first. */
function outboxEntries(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('parley');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const all = req.result.transaction('outbox').objectStore('outbox').getAll();
      all.onsuccess = () => resolve(all.result.sort((a, b) => a.created_at - b.created_at).map((e) => ({ text: e.text, state: e.state })));
    };
  }));
}

async function sendAll(page, from, to) {
  for (let i = from; i <= to; i++) await send(page, label(i));
}

/** Waits until every message of ana's is saved (a persisted watermark covers it). */
async function waitAllSaved(page, count, timeout = 20000) {
  await page.waitForFunction((n) => {
    const mine = [...document.querySelectorAll('#message-items li.msg.mine')];
    return mine.length === n && mine.every((li) => li.dataset.status === 'saved');
  }, count, { timeout });
}

const expected = (n) => Array.from({ length: n }, (_, i) => label(i + 1));

test('messages survive kill -9 of the server, exactly once', async () => {
  // 1. Ten messages fill one writer batch (saved); three more wait in the
  //    writer's queue (sent, not saved) when the server dies.
  await sendAll(ana.page, 1, 10);
  await waitAllSaved(ana.page, 10);
  await sendAll(ana.page, 11, 13);
  await waitForMessage(bo.page, label(13));
  await message(ana.page, label(13)).and(ana.page.locator('[data-status="sent"]')).waitFor();

  await server.stop('SIGKILL');
  await ana.page.locator('#conn-pill[data-state="reconnecting"]').waitFor();
  await bo.page.locator('#conn-banner:not([hidden])').waitFor();

  // 2. ana keeps typing and sending while the server is down.
  await ana.page.locator('#composer-input').pressSequentially('typing while the server is down', { delay: 5 });
  await ana.page.locator('#composer-input').fill('');
  await sendAll(ana.page, 14, 15);
  await message(ana.page, label(15)).and(ana.page.locator('[data-status="pending"]')).waitFor();
  const waiting = await outboxEntries(ana.page);
  assert.deepEqual(waiting.map((e) => e.text), [label(11), label(12), label(13), label(14), label(15)]);
  await screenshot(ana.page, 'recovery-offline-ana');

  // 3. The server comes back on the same port and data directory.
  await server.start();
  await waitConnected(ana.page);
  await waitConnected(bo.page);
  await send(ana.page, label(16));
  await waitAllSaved(ana.page, 16);
  await waitForMessage(bo.page, label(16));
  assert.deepEqual(await messageTexts(bo.page), expected(16));
  assert.deepEqual(await messageTexts(ana.page), expected(16));
  assert.deepEqual(await outboxEntries(ana.page), []);
});

test('the outbox survives a closed tab while the server is down', async () => {
  await server.stop('SIGKILL');
  await ana.page.locator('#conn-pill[data-state="reconnecting"]').waitFor();
  await send(ana.page, label(17));
  await message(ana.page, label(17)).and(ana.page.locator('[data-status="pending"]')).waitFor();
  assert.deepEqual((await outboxEntries(ana.page)).map((e) => e.text), [label(17)]);
  await ana.page.close(); // the tab is gone; the message waits in IndexedDB

  await server.start();
  await waitConnected(bo.page);
  await sleep(300);
  assert.equal(await message(bo.page, label(17)).count(), 0, 'nobody has sent it yet');

  ana.page = await ana.newPage();
  await openRoom(ana.page, server.url, ROOM);
  await waitForMessage(bo.page, label(17));
  await waitAllSaved(ana.page, 17);
  assert.deepEqual(await outboxEntries(ana.page), []);

  for (const page of [ana.page, bo.page]) {
    assert.deepEqual(await messageTexts(page), expected(17));
    await assertNoDuplicates(page);
  }
  // The database agrees: every message once, in order.
  const rows = server.query(
    `SELECT m.text FROM messages m JOIN rooms r ON r.id = m.room_id WHERE r.name = '${ROOM}' ORDER BY m.seq`);
  assert.deepEqual(rows.split('\n'), expected(17));
  await screenshot(ana.page, 'recovery-ana');
  await screenshot(bo.page, 'recovery-bo');
});

test('a reload brings back the same view: no gaps, no duplicates', async () => {
  await bo.page.reload();
  await waitConnected(bo.page);
  await waitForMessage(bo.page, label(17));
  assert.deepEqual(await messageTexts(bo.page), expected(17));
  await assertNoDuplicates(bo.page);
});
