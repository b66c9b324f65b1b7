// Scrolling back through a long history: 200 messages, loaded page by page
// as the reader scrolls up, without the view jumping, to the very first.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, Person, screenshot, Server } from './lib/harness.mjs';
import { assertNoDuplicates, messageTexts, openRoom, register } from './lib/ui.mjs';

const ROOM = 'archive';
const COUNT = 200;
const label = (i) => `History message ${String(i).padStart(3, '0')}`;
let server;
const people = [];

before(async () => {
  // Seeding sends 200 messages at once: lift the per-user message rate.
  server = await new Server(['--message-rate', '1000/1000']).start();
});

after(async () => {
  for (const p of people) await p.close();
  await server?.stop();
  cleanupTemp();
  for (const p of people) assert.deepEqual(p.errors, [], `page errors of ${p.name}`);
});

/**
 * Posts `count` messages from the signed-in page over a WebSocket of its own,
 * speaking the protocol through the same wasm module the client uses.
 */
function seed(page, room, count) {
  return post(page, room, Array.from({ length: count }, (_, i) => ({ text: label(i + 1), reply_to: 0 })));
}

/**
 * Posts messages ({text, reply_to}) in order; resolves with their seqs, as
 * acknowledged. (Messages' seqs have gaps: a room's other events, people
 * joining it, take numbers too.)
 */
function post(page, room, messages) {
  return page.evaluate(async ({ room, messages }) => {
    const { loadParley } = await import('/wasm/parley.js');
    const parley = await loadParley();
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.binaryType = 'arraybuffer';
    const count = messages.length;
    const base = 1e12 + Math.floor(Math.random() * 1e9) * 1000;
    const seqs = new Map();
    let roomId = 0;
    await new Promise((resolve, reject) => {
      ws.onerror = () => reject(new Error('seeding socket failed'));
      setTimeout(() => reject(new Error(`seeding: ${seqs.size} of ${count} acknowledged after 60 s`)), 60000);
      ws.onmessage = (ev) => {
        for (const p of parley.decode(new Uint8Array(ev.data))) {
          if (p.type === 'welcome') ws.send(parley.encode({ type: 'join_room', room, epoch: 0, since_seq: 0 }));
          if (p.type === 'room_joined') {
            roomId = p.room_id;
            messages.forEach(({ text, reply_to }, i) => {
              ws.send(parley.encode({ type: 'send_message', room_id: roomId, client_msg_id: base + i + 1, reply_to, text, resend: false }));
            });
          }
          if (p.type === 'ack') {
            seqs.set(p.client_id, p.seq);
            if (seqs.size === count) resolve();
          }
          if (p.type === 'error_report') reject(new Error(`seeding refused: ${p.text}`));
        }
      };
    });
    ws.close();
    return messages.map((_, i) => seqs.get(base + i + 1));
  }, { room, messages });
}

test('history scrolls back to the first of 200 messages', async () => {
  const ana = await new Person('ana').launch();
  const bo = await new Person('bo').launch();
  people.push(ana, bo);
  await register(ana.page, server.url, 'ana');
  const seqs = await seed(ana.page, ROOM, COUNT);
  assert.equal(seqs.length, COUNT);

  await register(bo.page, server.url, 'bo');
  await openRoom(bo.page, server.url, ROOM);
  const rows = bo.page.locator('#message-items li.msg');
  // A fresh join shows the newest page only.
  assert.deepEqual(await messageTexts(bo.page), Array.from({ length: 50 }, (_, i) => label(151 + i)));
  assert.equal(await bo.page.locator('#history-edge').getAttribute('data-state'), 'more');

  // Scrolled to the top, older messages load above without moving what the
  // reader is looking at: message 151 stays where it was on screen.
  // (Measured by seq in one step: a row may be rebuilt when its neighbours change.)
  const topOf151 = `document.querySelector('#message-items li.msg[data-seq="${seqs[150]}"]').getBoundingClientRect().top`;
  const before = await bo.page.evaluate((f) => {
    document.getElementById('messages').scrollTop = 0;
    return eval(f);
  }, topOf151);
  await bo.page.waitForFunction(() => document.querySelectorAll('#message-items li.msg').length >= 100);
  await bo.page.waitForTimeout(100);
  const afterLoad = await bo.page.evaluate((f) => eval(f), topOf151);
  assert.ok(Math.abs(afterLoad - before) < 4, `message 151 moved from ${before} to ${afterLoad}`);

  // The rest with the mouse wheel, as a reader would.
  const box = await bo.page.locator('#messages').boundingBox();
  await bo.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 200; i++) {
    if (await bo.page.locator('#history-edge[data-state="start"]').count()) break;
    await bo.page.mouse.wheel(0, -1200);
    await bo.page.waitForTimeout(60);
  }
  await bo.page.locator('#history-edge[data-state="start"]').waitFor({ timeout: 5000 });
  assert.equal(await rows.count(), COUNT);
  assert.deepEqual(await messageTexts(bo.page), Array.from({ length: COUNT }, (_, i) => label(i + 1)));
  await assertNoDuplicates(bo.page);
  assert.match(await bo.page.locator('#history-edge').textContent(), /very beginning of #archive/);
  assert.ok(await bo.page.locator('#message-items li.msg', { hasText: label(1) }).isVisible());
  await screenshot(bo.page, 'history-top');

  // Far from the newest messages, a pill leads back to them.
  await bo.page.locator('#new-pill:not([hidden])', { hasText: 'Jump to latest' }).click();
  await bo.page.waitForFunction(() => {
    const el = document.getElementById('messages');
    return el.scrollHeight - el.scrollTop - el.clientHeight < 50;
  });
  assert.ok(await bo.page.locator('#message-items li.msg', { hasText: label(COUNT) }).isVisible());
  await bo.page.locator('#new-pill').waitFor({ state: 'hidden' });
});

test('a quote jumps to its original, awaiting each older page; leaving the room ends the jump quietly', async () => {
  const [ana] = people;
  const room = 'jumps';
  // 120 messages, then a reply to the first: three pages above the latest one.
  const [first] = await seed(ana.page, room, 120);
  assert.ok(first > 0);
  assert.equal((await post(ana.page, room, [{ text: 'Back to the very first', reply_to: first }])).length, 1);

  const cy = await new Person('cy').launch();
  people.push(cy);
  await register(cy.page, server.url, 'cy');
  await openRoom(cy.page, server.url, room);
  const quote = cy.page.locator('#message-items li.msg', { hasText: 'Back to the very first' }).locator('.quote');
  await quote.waitFor();
  assert.equal(await cy.page.locator(`#message-items li.msg[data-seq="${first}"]`).count(), 0);

  // Another room shown while the pages load: the jump ends, it does not
  // report the message as gone.
  await cy.page.evaluate(() => {
    document.querySelector('#message-items .quote').click();
    document.querySelector('#room-list a[data-room="lobby"]').click();
  });
  await cy.page.locator('#history-edge[data-room="lobby"]').waitFor({ state: 'attached' });
  await cy.page.waitForTimeout(1500);
  assert.equal(await cy.page.locator('.toast', { hasText: 'no longer available' }).count(), 0);

  // Back in the room, the jump loads what it needs and lands on message 1.
  await cy.page.locator(`#room-list a[data-room="${room}"]`).click();
  await quote.click();
  await cy.page.waitForFunction((seq) => document.activeElement?.dataset?.seq === String(seq), first, { timeout: 15000 });
  assert.ok(await cy.page.locator(`#message-items li.msg[data-seq="${first}"]`).isVisible());
  assert.match(await cy.page.locator(`#message-items li.msg[data-seq="${first}"]`).getAttribute('class'), /flash/);
  await assertNoDuplicates(cy.page);
});
