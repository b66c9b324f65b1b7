// The client on a phone, in the dark theme, and from the keyboard alone;
// plus the composer's limit and the new-messages pill.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { browserSuite, config, screenshot } from './lib/harness.mjs';
import { message, register, send, waitConnected, waitForMessage } from './lib/ui.mjs';

const ROOM = 'mobile';
const { server, people, person } = browserSuite(['--message-rate', '200/200']);

test('on a phone the room list slides in and the timeline fills the screen', async () => {
  const phone = await person('pia', { viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const desk = await person('dev');
  await register(phone.page, server.url, 'pia', { room: ROOM });
  await register(desk.page, server.url, 'dev', { room: ROOM });
  await send(desk.page, 'A long link wraps instead of widening the page: https://example.com/' + 'a'.repeat(120));
  await send(desk.page, `And so does a long word: ${'Donaudampfschifffahrtsgesellschaft'.repeat(4)}`);
  await waitForMessage(phone.page, `And so does a long word: ${'Donaudampfschifffahrtsgesellschaft'.repeat(4)}`);
  await send(phone.page, 'Reading this on my phone');
  await waitForMessage(desk.page, 'Reading this on my phone');

  const page = phone.page;
  assert.equal(await page.locator('#sidebar').isVisible(), false, 'the room list waits off-screen');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no horizontal scrolling (scrollWidth ${width})`);
  // Dark theme from the system setting.
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(27, 29, 35)');
  await screenshot(page, 'phone-dark');

  await page.locator('#open-sidebar').click();
  await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().x >= 0);
  assert.equal(await page.locator('#sidebar').isVisible(), true);
  await screenshot(page, 'phone-rooms');
  await page.keyboard.press('Escape');
  await page.locator('#sidebar').waitFor({ state: 'hidden' });

  // The member list is an overlay too.
  await page.locator('#toggle-members').click();
  await page.locator('#members #member-list li.member[data-user="dev"]').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#members').waitFor({ state: 'hidden' });
});

test('keyboard only: move through messages, act on one, edit and cancel', async () => {
  const kim = await person('kim');
  await register(kim.page, server.url, 'kim', { room: ROOM });
  const page = kim.page;
  await send(page, 'First from the keyboard');
  await waitForMessage(page, 'First from the keyboard');

  // From the composer, Shift+Tab reaches the timeline; arrows move between messages.
  await page.locator('#composer-input').focus();
  await page.locator('#messages').focus();
  await page.keyboard.press('ArrowUp');
  const focused = () => page.evaluate(() => document.activeElement.closest('li.msg')?.querySelector('.text')?.firstChild?.textContent);
  assert.equal(await focused(), 'First from the keyboard');
  await page.keyboard.press('ArrowUp');
  assert.equal(await focused(), 'Reading this on my phone');
  await page.keyboard.press('ArrowDown');
  // Tab walks into the focused message's actions: react opens the picker.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'react');
  await page.keyboard.press('Enter');
  await page.locator('#reaction-picker:not([hidden])').waitFor();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter'); // the third reaction: heart
  await message(page, 'First from the keyboard').locator('.chip.mine[data-reaction="heart"]').waitFor();
  assert.equal(await page.locator('#reaction-picker').isHidden(), true);

  // Escape returns to the composer; Up edits the last message; Escape cancels.
  await page.locator('#messages').focus();
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'composer-input');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.locator('#composer-input').inputValue(), 'First from the keyboard');
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('#composer-input').inputValue(), '');
  // Shift+Enter breaks the line; Enter sends both lines as one message.
  await page.keyboard.type('two');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('lines');
  await page.keyboard.press('Enter');
  await waitForMessage(page, 'two\nlines');
  await screenshot(page, 'keyboard');
});

test('the composer shows the limit near it and refuses text over it', async () => {
  const page = people.find((p) => p.name === 'kim').page;
  const input = page.locator('#composer-input');
  await input.fill('x'.repeat(3000));
  assert.equal(await page.locator('#composer-counter').textContent(), '');
  await input.fill('x'.repeat(3990));
  assert.equal(await page.locator('#composer-counter').textContent(), '10 left');
  await input.fill('é'.repeat(2001)); // 4002 bytes of UTF-8
  assert.equal(await page.locator('#composer-counter').textContent(), '2 over the limit');
  assert.equal(await page.locator('#composer-send').isDisabled(), true);
  await screenshot(page, 'composer-limit');
  await input.press('Enter');
  assert.equal(await input.inputValue(), 'é'.repeat(2001), 'nothing was sent');
  await input.fill('');
});

test('away from the bottom, new messages raise a pill instead of scrolling', async () => {
  const kim = people.find((p) => p.name === 'kim').page;
  const dev = people.find((p) => p.name === 'dev').page;
  for (let i = 1; i <= 30; i++) await send(dev, `Filler ${i}`);
  await waitForMessage(kim, 'Filler 30');
  await kim.locator('#messages').evaluate((el) => { el.scrollTop = el.scrollHeight - el.clientHeight - 600; });
  await kim.waitForTimeout(100);
  const top = await kim.locator('#messages').evaluate((el) => el.scrollTop);
  await send(dev, 'Did you see this?');
  await kim.locator('#new-pill:not([hidden])', { hasText: /^ ?1 new message$/ }).waitFor();
  assert.equal(await kim.locator('#messages').evaluate((el) => el.scrollTop), top, 'the view did not move');
  await screenshot(kim, 'new-messages-pill');
  await kim.locator('#new-pill').click();
  await kim.waitForFunction(() => {
    const el = document.getElementById('messages');
    return el.scrollHeight - el.scrollTop - el.clientHeight < 50;
  });
  await kim.locator('#new-pill').waitFor({ state: 'hidden' });
  // At the bottom, new messages scroll into view by themselves.
  await send(dev, 'And this one?');
  await waitForMessage(kim, 'And this one?');
  assert.ok(await message(kim, 'And this one?').isVisible());
  assert.equal(await kim.locator('#new-pill').isHidden(), true);
});

test('rooms: create one from the dialog, pick an existing one, leave one', async () => {
  const kim = people.find((p) => p.name === 'kim').page;
  const dev = people.find((p) => p.name === 'dev').page;

  await kim.locator('#new-room').click();
  await kim.locator('#room-dialog[open]').waitFor();
  // The directory lists the server's rooms with who is online.
  await kim.locator('#existing-rooms .existing-room', { hasText: 'mobile' }).waitFor();
  await kim.locator('#room-input').fill('not a room!');
  await kim.locator('#room-input').press('Enter');
  await kim.locator('#room-error', { hasText: 'Room names are' }).waitFor();
  await kim.locator('#room-input').fill('Design-Crit');
  await kim.locator('#room-input').press('Enter');
  await kim.locator('#room-name', { hasText: 'design-crit' }).waitFor();
  await kim.locator('#history-edge[data-room="design-crit"][data-state="start"]').waitFor();
  assert.equal(new URL(kim.url()).pathname, '/r/design-crit');
  await send(kim, 'First in a brand new room');
  await waitForMessage(kim, 'First in a brand new room');

  // dev picks it from the directory.
  await dev.keyboard.press('Control+K');
  await dev.locator('#room-dialog[open]').waitFor();
  await dev.locator('#existing-rooms .existing-room', { hasText: 'design-crit' }).click();
  await waitForMessage(dev, 'First in a brand new room');
  await dev.locator('#member-list li.member[data-user="kim"]').waitFor();
  await screenshot(dev, 'room-picked');

  // kim leaves it: back in another room, and gone from dev's member list.
  const item = kim.locator('#room-list li.room-item', { hasText: 'design-crit' });
  await item.hover();
  await item.locator('button.leave').click();
  await kim.locator('#confirm-dialog[open]', { hasText: 'Leave #design-crit?' }).waitFor();
  await kim.locator('#confirm-ok').click();
  await item.waitFor({ state: 'detached' });
  assert.notEqual(await kim.locator('#room-name').textContent(), 'design-crit');
  await dev.locator('#member-list li.member[data-user="kim"]').waitFor({ state: 'detached', timeout: 10000 });
});

test('a room name the server refuses is refused before anything is sent', async () => {
  // The client's frames, decoded by the same wasm module: every join it sends.
  const { loadParley } = await import(pathToFileURL(path.join(config.wasmDir, 'parley.js')).href);
  const parley = await loadParley();
  const page = await people.find((p) => p.name === 'kim').newPage();
  const joins = [];
  page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => {
    if (typeof payload === 'string') return;
    for (const p of parley.decode(new Uint8Array(payload))) if (p.type === 'join_room') joins.push(p.room);
  }));

  // The server wants a letter or a digit first. A link to such a room opens
  // the last room instead and says why.
  await page.goto(`${server.url}/r/-design`);
  await waitConnected(page);
  await page.locator('.toast', { hasText: 'That room name is not valid' }).waitFor();
  assert.notEqual(new URL(page.url()).pathname, '/r/-design');

  // Typed into the dialog: the rule shows, the dialog stays open.
  await page.locator('#new-room').click();
  await page.locator('#room-dialog[open]').waitFor();
  for (const name of ['-design', '_design', '.design']) {
    await page.locator('#room-input').fill(name);
    await page.locator('#room-input').press('Enter');
    await page.locator('#room-error', { hasText: 'starting with a letter or digit' }).waitFor();
    assert.equal(await page.locator('#room-dialog').evaluate((d) => d.open), true, name);
  }
  await page.locator('#room-cancel').click();
  await page.waitForTimeout(500);
  assert.equal(await page.locator('#room-list li.room-item', { hasText: 'design' }).count(), 0);
  assert.equal(await page.locator('.toast', { hasText: 'Cannot join the room' }).count(), 0, 'the server was never asked');
  assert.ok(joins.length > 0, 'the joins of the rooms it has were seen');
  assert.deepEqual(joins.filter((room) => !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(room)), []);
  await page.close();
});

test('message text: only http(s) links become anchors; typing sentences', async () => {
  const page = people.find((p) => p.name === 'kim').page;
  const result = await page.evaluate(async () => {
    const { renderText, typingText } = await import('/js/ui/format.js');
    const render = (text) => {
      const div = document.createElement('div');
      div.append(renderText(text));
      return { text: div.textContent, links: [...div.querySelectorAll('a')].map((a) => [a.textContent, a.href]), html: div.innerHTML };
    };
    return {
      parens: render('(see https://en.wikipedia.org/wiki/Chat_(software)) and http://example.com/a.'),
      www: render('www.example.org, then'),
      unsafe: render('javascript:alert(1) data:text/html,<b>x</b> <a href="https://x.test">x</a>'),
      typing: [typingText([]), typingText(['Ana']), typingText(['Ana', 'Bo']), typingText(['Ana', 'Bo', 'Cy'])],
    };
  });
  assert.deepEqual(result.parens.links, [
    ['https://en.wikipedia.org/wiki/Chat_(software)', 'https://en.wikipedia.org/wiki/Chat_(software)'],
    ['http://example.com/a', 'http://example.com/a'],
  ]);
  assert.equal(result.parens.text, '(see https://en.wikipedia.org/wiki/Chat_(software)) and http://example.com/a.');
  assert.deepEqual(result.www.links, [['www.example.org', 'https://www.example.org/']]);
  // Only the one real URL inside the markup-looking text is linked; the markup stays text.
  assert.deepEqual(result.unsafe.links, [['https://x.test', 'https://x.test/']]);
  assert.equal(result.unsafe.text, 'javascript:alert(1) data:text/html,<b>x</b> <a href="https://x.test">x</a>');
  assert.deepEqual(result.typing, ['', 'Ana is typing…', 'Ana and Bo are typing…', 'Several people are typing…']);
});

test('the outbox is durable the moment a message is written', async () => {
  const page = people.find((p) => p.name === 'kim').page;
  const result = await page.evaluate(async () => {
    const { Outbox } = await import('/js/outbox.js');
    const user = 424242; // a user of its own: the page's outbox is not touched
    const key = `parley:outbox-journal:${user}`;
    const entry = (id, text) => ({
      client_msg_id: id, user_id: user, room: 'r', text, reply_to: 0, created_at: id,
      state: 'pending', seq: 0, sent_at: 0, attempts: 0, error: null, errorCode: 0,
    });
    const box = await Outbox.open(user);
    const written = box.put(entry(1, 'one'));
    const journalledAtOnce = Object.keys(JSON.parse(localStorage.getItem(key) ?? '{}'));
    await written;
    const journalAfterCommit = localStorage.getItem(key);
    box.close();

    // A tab that died before its database write: only the journal has "two".
    localStorage.setItem(key, JSON.stringify({ 2: entry(2, 'two') }));
    const reopened = await Outbox.open(user);
    const texts = [...reopened.entries.values()].map((e) => e.text);
    await reopened.queue;
    const journalAfterReplay = localStorage.getItem(key);
    await Promise.all([reopened.remove(1), reopened.remove(2)]);
    const third = await Outbox.open(user);
    return { journalledAtOnce, journalAfterCommit, texts, journalAfterReplay, left: third.size };
  });
  assert.deepEqual(result.journalledAtOnce, ['1'], 'in the journal before any await');
  assert.equal(result.journalAfterCommit, null, 'journal emptied once IndexedDB has it');
  assert.deepEqual(result.texts, ['one', 'two'], 'the journal is replayed on open');
  assert.equal(result.journalAfterReplay, null, 'and moved into IndexedDB');
  assert.equal(result.left, 0);
});
