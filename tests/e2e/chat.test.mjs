// Two (and three) people chatting: messages both ways, reactions, typing,
// presence, edits, deletions, replies, unread counts.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, Person, screenshot, Server, sleep } from './lib/harness.mjs';
import { assertNoDuplicates, message, messageAction, messageTexts, openRoom, register, send, waitConnected, waitForMessage, waitRoomLoaded } from './lib/ui.mjs';

const ROOM = 'general';
let server;
let ana;
let bo;
const people = [];

before(async () => {
  // A short presence grace keeps the "tab closed" check quick.
  server = await new Server(['--presence-grace-ms', '400']).start();
  ana = await new Person('ana').launch();
  bo = await new Person('bo').launch();
  people.push(ana, bo);
  await register(ana.page, server.url, 'ana', { room: ROOM });
  await register(bo.page, server.url, 'bo', { room: ROOM });
});

after(async () => {
  for (const p of people) await p.close();
  await server?.stop();
  cleanupTemp();
  for (const p of people) assert.deepEqual(p.errors, [], `page errors of ${p.name}`);
});

test('two users chat in real time, both ways', async () => {
  await send(ana.page, 'Hi Bo! Are you there?');
  await waitForMessage(bo.page, 'Hi Bo! Are you there?');
  await send(bo.page, 'Hey Ana, yes: reading the notes at https://example.com/notes.');
  await waitForMessage(ana.page, 'Hey Ana, yes: reading the notes at https://example.com/notes.');
  await send(bo.page, 'Markup stays text: <b>not bold</b> <img src=x onerror=alert(1)>');
  await waitForMessage(ana.page, 'Markup stays text: <b>not bold</b> <img src=x onerror=alert(1)>');

  // Authors, grouping: bo's two messages form one group under one header.
  const boRows = ana.page.locator('#message-items li.msg[data-author="bo"]');
  assert.equal(await boRows.count(), 2);
  assert.equal(await boRows.nth(0).evaluate((e) => e.classList.contains('group-start')), true);
  assert.equal(await boRows.nth(1).evaluate((e) => e.classList.contains('group-start')), false);

  // Links are anchors that open safely; markup is never parsed.
  const link = ana.page.locator('#message-items a[href="https://example.com/notes"]');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.equal(await ana.page.locator('#message-items .text b, #message-items .text img').count(), 0);

  // The author's own tab sees its message once, with a delivery status.
  await assertNoDuplicates(ana.page);
  await assertNoDuplicates(bo.page);
  assert.deepEqual(await messageTexts(bo.page), await messageTexts(ana.page));
  await message(ana.page, 'Hi Bo! Are you there?').and(ana.page.locator('[data-status="sent"], [data-status="saved"]')).waitFor();
  // New messages are announced to screen readers.
  await bo.page.locator('#announcer p', { hasText: 'ana: Hi Bo! Are you there?' }).waitFor({ state: 'attached' });
  await screenshot(ana.page, 'chat-ana');
  await screenshot(bo.page, 'chat-bo');
});

test('reactions and their counts update live on the other side', async () => {
  const text = 'Hi Bo! Are you there?';
  await messageAction(bo.page, text, 'react');
  await bo.page.locator('#reaction-picker [data-reaction="heart"]').click();

  const heartOnAna = message(ana.page, text).locator('.chip[data-reaction="heart"]');
  await heartOnAna.locator('.count', { hasText: /^1$/ }).waitFor();
  assert.equal(await heartOnAna.getAttribute('aria-pressed'), 'false');
  const heartOnBo = message(bo.page, text).locator('.chip[data-reaction="heart"]');
  await bo.page.locator('#message-items .chip.mine[data-reaction="heart"]').waitFor();

  await heartOnAna.click(); // ana adds hers: 2, highlighted for her only
  await heartOnBo.locator('.count', { hasText: /^2$/ }).waitFor();
  await message(ana.page, text).locator('.chip.mine[data-reaction="heart"] .count', { hasText: /^2$/ }).waitFor();

  await messageAction(ana.page, text, 'react');
  await ana.page.locator('#reaction-picker [data-reaction="party"]').click();
  await message(bo.page, text).locator('.chip[data-reaction="party"] .count', { hasText: /^1$/ }).waitFor();
  await screenshot(bo.page, 'reactions-bo');

  await heartOnBo.click(); // bo takes his back
  await heartOnAna.locator('.count', { hasText: /^1$/ }).waitFor();
  assert.equal(await heartOnAna.getAttribute('aria-pressed'), 'true');
  await message(bo.page, text).locator('.chip[data-reaction="heart"]:not(.mine) .count', { hasText: /^1$/ }).waitFor();
});

test('the typing indicator appears and disappears', async () => {
  const input = ana.page.locator('#composer-input');
  await input.click();
  await input.pressSequentially('I am writing a long', { delay: 20 });
  await bo.page.locator('#typing', { hasText: 'ana is typing…' }).waitFor();
  await bo.page.locator('#member-list li.member[data-user="ana"] .member-typing').waitFor();
  await screenshot(bo.page, 'typing-bo');
  assert.equal(await ana.page.locator('#typing').textContent(), '', 'nobody sees themselves typing');

  await input.fill(''); // cleared: stopped
  await bo.page.locator('#typing.active').waitFor({ state: 'detached' });

  await input.pressSequentially('Sending ends typing', { delay: 20 });
  await bo.page.locator('#typing', { hasText: 'ana is typing…' }).waitFor();
  await input.press('Enter');
  await waitForMessage(bo.page, 'Sending ends typing');
  await bo.page.locator('#typing.active').waitFor({ state: 'detached' });

  await input.pressSequentially('Leaving the box', { delay: 20 });
  await bo.page.locator('#typing', { hasText: 'ana is typing…' }).waitFor();
  await ana.page.locator('#room-name').click(); // blur
  await bo.page.locator('#typing.active').waitFor({ state: 'detached' });
  await input.fill('');
});

test('presence updates when a tab closes', async () => {
  const boTab2 = await bo.newPage();
  await openRoom(boTab2, server.url, ROOM);
  const anaSeesBo = ana.page.locator('#member-list li.member[data-user="bo"]');
  await anaSeesBo.waitFor();
  assert.match(await ana.page.locator('#members-heading').textContent(), /Online — 2/);

  await bo.page.close(); // bo still has his second tab open
  await sleep(1000); // longer than the grace period
  assert.equal(await anaSeesBo.count(), 1, 'one tab closed: still online');

  await boTab2.close();
  await anaSeesBo.waitFor({ state: 'detached', timeout: 10000 });
  assert.match(await ana.page.locator('#members-heading').textContent(), /Online — 1/);
  await screenshot(ana.page, 'presence-ana-alone');

  bo.page = await bo.newPage();
  await openRoom(bo.page, server.url, ROOM);
  await anaSeesBo.waitFor();
});

test('edit and delete propagate; only the author may do either', async () => {
  await send(ana.page, 'Meeting at 3pm');
  await waitForMessage(bo.page, 'Meeting at 3pm');
  // Up edits my last message once the server has given it a seq (before, it
  // is still on its way and cannot be edited yet).
  await message(ana.page, 'Meeting at 3pm').and(ana.page.locator('[data-seq]')).waitFor();
  // Up arrow in the empty box edits the last own message.
  const input = ana.page.locator('#composer-input');
  await input.press('ArrowUp');
  await ana.page.locator('#composer-context[data-kind="edit"]').waitFor();
  assert.equal(await input.inputValue(), 'Meeting at 3pm');
  await input.press('Escape');
  await ana.page.locator('#composer-context').waitFor({ state: 'hidden' });
  assert.equal(await input.inputValue(), '');

  await messageAction(ana.page, 'Meeting at 3pm', 'edit');
  await input.fill('Meeting at 4pm');
  await input.press('Enter');
  const edited = message(bo.page, 'Meeting at 4pm');
  await edited.locator('.edited').waitFor();
  assert.equal(await message(bo.page, 'Meeting at 3pm').count(), 0);

  // bo has no edit or delete action on ana's message.
  await edited.hover();
  assert.equal(await edited.locator('[data-action="edit"], [data-action="delete"]').count(), 0);
  await screenshot(bo.page, 'edited-bo');

  await messageAction(ana.page, 'Meeting at 4pm', 'delete');
  await ana.page.locator('#confirm-dialog[open]').waitFor();
  await ana.page.locator('#confirm-ok').click();
  await bo.page.locator('#message-items li.msg.deleted .tombstone', { hasText: 'This message was deleted.' }).waitFor();
  await ana.page.locator('#message-items li.msg.deleted').waitFor();
  assert.equal(await message(bo.page, 'Meeting at 4pm').count(), 0);
  await screenshot(bo.page, 'deleted-bo');
});

test('replies quote the original, and unread counts show for other rooms', async () => {
  await messageAction(bo.page, 'Sending ends typing', 'reply');
  await bo.page.locator('#composer-context[data-kind="reply"]', { hasText: 'Replying to ana' }).waitFor();
  await send(bo.page, 'Got it, thanks');
  const reply = message(ana.page, 'Got it, thanks');
  await reply.locator('.quote', { hasText: 'Sending ends typing' }).waitFor();

  // bo talks in another room; ana, in #general, sees an unread badge there.
  await openRoom(ana.page, server.url, 'random');
  await openRoom(ana.page, server.url, ROOM);
  await openRoom(bo.page, server.url, 'random');
  await send(bo.page, 'Anyone up for lunch?');
  await send(bo.page, 'Noodles?');
  const badge = ana.page.locator('#room-list a[data-room="random"] .badge');
  await badge.filter({ hasText: /^2$/ }).waitFor();
  assert.equal(await ana.page.title(), '(2) #general · Parley');
  await screenshot(ana.page, 'unread-ana');
  await ana.page.locator('#room-list a[data-room="random"]').click();
  await waitForMessage(ana.page, 'Noodles?');
  await badge.waitFor({ state: 'detached' });
  assert.equal(new URL(ana.page.url()).pathname, '/r/random');
  await ana.page.goBack();
  await ana.page.locator('#room-name', { hasText: ROOM }).waitFor();
});

test('a dropped connection: what was missed comes back, what was written meanwhile goes out', async () => {
  // dee's WebSocket runs through a switch: the test cuts it (as a tunnel
  // would, or a server closing a slow consumer with 1013) and refuses new
  // connections until the "network" is back. ana stays connected throughout.
  const dee = await new Person('dee').launch();
  people.push(dee);
  let down = false;
  let link = null;
  await dee.page.routeWebSocket(/\/ws$/, (ws) => {
    if (down) return ws.close({ code: 4000, reason: 'network down' });
    link = { page: ws, server: ws.connectToServer() };
    return undefined;
  });
  const room = 'field';
  await register(dee.page, server.url, 'dee', { room });
  await openRoom(ana.page, server.url, room);
  await send(ana.page, 'Before the tunnel');
  await waitForMessage(dee.page, 'Before the tunnel');

  down = true;
  await link.server.close();
  await link.page.close({ code: 1013, reason: 'slow consumer: reconnect and resync' });
  await dee.page.locator('#conn-pill[data-state="reconnecting"]').waitFor();
  await dee.page.locator('#conn-banner:not([hidden])', { hasText: 'Connection lost' }).waitFor();
  await ana.page.locator('#member-list li.member[data-user="dee"]').waitFor({ state: 'detached', timeout: 10000 });
  await send(dee.page, 'Written in the tunnel');
  await message(dee.page, 'Written in the tunnel').and(dee.page.locator('[data-status="pending"]')).waitFor();
  await dee.page.locator('#conn-banner', { hasText: '1 message waiting to be sent' }).waitFor();
  // Enter, and the tab reloads at once: the message must outlive the page.
  await send(dee.page, 'Typed just before a reload');
  await dee.page.reload();
  await message(dee.page, 'Typed just before a reload').and(dee.page.locator('[data-status="pending"]')).waitFor();
  await dee.page.locator('#conn-banner', { hasText: '2 messages waiting to be sent' }).waitFor();
  await send(ana.page, 'Sent while dee was away');
  await send(ana.page, 'And one more');
  await openRoom(ana.page, server.url, 'lobby'); // dee's other joined room
  await send(ana.page, 'Lobby news while dee was away');
  await waitForMessage(ana.page, 'Lobby news while dee was away');
  await openRoom(ana.page, server.url, room);
  await screenshot(dee.page, 'dropped-dee');

  down = false;
  // "Retry now" skips the back-off wait (the connection may also win the race).
  await dee.page.locator('#conn-retry').click({ timeout: 5000 }).catch(() => {});
  await waitConnected(dee.page);
  await waitForMessage(dee.page, 'And one more');
  await waitForMessage(ana.page, 'Written in the tunnel');
  await waitForMessage(ana.page, 'Typed just before a reload');
  await ana.page.locator('#member-list li.member[data-user="dee"]').waitFor();
  // dee's own two have their seqs (acknowledged), so both views order them alike.
  for (const text of ['Written in the tunnel', 'Typed just before a reload']) {
    await message(dee.page, text).and(dee.page.locator('[data-seq]')).waitFor();
  }
  const order = ['Before the tunnel', 'Sent while dee was away', 'And one more', 'Written in the tunnel', 'Typed just before a reload'];
  for (const page of [ana.page, dee.page]) {
    const texts = await messageTexts(page);
    assert.deepEqual([...texts].sort(), [...order].sort());
    await assertNoDuplicates(page);
  }
  assert.deepEqual(await messageTexts(dee.page), await messageTexts(ana.page));
  // Every joined room is caught up, not only the one in view.
  await dee.page.locator('#room-list a[data-room="lobby"] .badge', { hasText: /^1$/ }).waitFor();
  await dee.page.locator('#room-list a[data-room="lobby"]').click();
  await waitForMessage(dee.page, 'Lobby news while dee was away');
});

test('three people in a fresh room: the screenshot for the README', async () => {
  const cy = await new Person('cy').launch();
  people.push(cy);
  const room = 'release';
  await register(cy.page, server.url, 'cy', { room });
  await openRoom(ana.page, server.url, room);
  await openRoom(bo.page, server.url, room);
  const say = async (who, text) => {
    await send(who.page, text);
    for (const p of [ana, bo, cy]) await waitForMessage(p.page, text);
  };
  const react = async (who, text, reaction) => {
    await messageAction(who.page, text, 'react');
    await who.page.locator(`#reaction-picker [data-reaction="${reaction}"]`).click();
  };
  await say(bo, 'Morning! Is the release build green?');
  await say(ana, 'All green. Tagging 0.1 now.');
  await say(cy, 'Changelog draft: https://example.com/parley/changelog');
  await messageAction(ana.page, 'Changelog draft: https://example.com/parley/changelog', 'reply');
  await say(ana, 'Looks good, I added the reconnect fixes');
  await ana.page.locator('#composer-input').press('ArrowUp');
  await ana.page.locator('#composer-input').fill('Looks good. I added the reconnect fixes.');
  await ana.page.locator('#composer-input').press('Enter');
  await message(cy.page, 'Looks good. I added the reconnect fixes.').locator('.edited').waitFor();
  await say(bo, 'The outbox survived my train tunnel this morning: nothing lost, nothing twice.');
  await react(bo, 'All green. Tagging 0.1 now.', 'party');
  await react(cy, 'All green. Tagging 0.1 now.', 'party');
  await react(cy, 'All green. Tagging 0.1 now.', 'like');
  await react(ana, 'The outbox survived my train tunnel this morning: nothing lost, nothing twice.', 'heart');
  await react(cy, 'The outbox survived my train tunnel this morning: nothing lost, nothing twice.', 'laugh');
  await message(ana.page, 'All green. Tagging 0.1 now.').locator('.chip[data-reaction="party"] .count', { hasText: /^2$/ }).waitFor();
  await message(ana.page, 'The outbox survived my train tunnel this morning: nothing lost, nothing twice.')
    .locator('.chip[data-reaction="laugh"]').waitFor();
  await cy.page.locator('#composer-input').pressSequentially('Shipping it', { delay: 15 });
  await ana.page.locator('#typing', { hasText: 'cy is typing…' }).waitFor();
  await ana.page.mouse.move(130, 600); // an empty part of the sidebar: no hover effects
  await ana.page.locator('#composer-input').focus();
  await ana.page.waitForTimeout(150);
  await waitConnected(ana.page);
  await waitRoomLoaded(ana.page, room);
  await screenshot(ana.page, 'readme');
  await cy.page.locator('#composer-input').fill('');
});
