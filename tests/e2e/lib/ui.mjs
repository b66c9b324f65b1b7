// What a person does in the Parley client, as Playwright steps.

import assert from 'node:assert/strict';
import { PASSWORD } from './harness.mjs';

/** Opens the app and creates an account through the form; resolves when connected. */
export async function register(page, url, username, { room = 'lobby' } = {}) {
  await page.goto(`${url}/r/${room}`);
  await page.locator('#tab-register').click();
  await page.locator('#auth-username').fill(username);
  await page.locator('#auth-password').fill(PASSWORD);
  await page.locator('#auth-submit').click();
  await waitConnected(page);
  await waitRoomLoaded(page, room);
}

export async function signIn(page, username, password = PASSWORD) {
  await page.locator('#tab-login').click();
  await page.locator('#auth-username').fill(username);
  await page.locator('#auth-password').fill(password);
  await page.locator('#auth-submit').click();
}

export async function waitConnected(page, timeout = 15000) {
  await page.locator('#conn-pill[data-state="connected"]').waitFor({ state: 'attached', timeout });
}

/** Waits until the room's history has arrived (the list shows its top edge). */
export async function waitRoomLoaded(page, room, timeout = 15000) {
  await page.locator(`#history-edge[data-room="${room}"]:not([data-state="loading"])`).waitFor({ state: 'attached', timeout });
}

export async function openRoom(page, url, room) {
  await page.goto(`${url}/r/${room}`);
  await waitConnected(page);
  await waitRoomLoaded(page, room);
}

/** Types a message in the composer and sends it with Enter. */
export async function send(page, text) {
  const input = page.locator('#composer-input');
  await input.fill(text);
  await input.press('Enter');
}

/** The message rows whose text is exactly `text`. */
export function message(page, text) {
  return page.locator('#message-items li.msg').filter({ has: page.locator('.text', { hasText: new RegExp(`^${escapeRegExp(text)}( \\(edited\\))?$`) }) });
}

export async function waitForMessage(page, text, timeout = 10000) {
  await message(page, text).first().waitFor({ timeout });
}

/** The texts of all messages on screen, in order. */
export function messageTexts(page) {
  return page.locator('#message-items li.msg .text').evaluateAll((els) => els.map((e) => e.firstChild ? [...e.childNodes].filter((n) => !(n.classList?.contains('edited'))).map((n) => n.textContent).join('').trim() : ''));
}

/** Hovers a message so its action toolbar shows, and clicks one action. */
export async function messageAction(page, text, action) {
  const row = message(page, text).first();
  await row.hover();
  await row.locator(`.msg-actions [data-action="${action}"]`).click();
}

export async function assertNoDuplicates(page) {
  const seqs = await page.locator('#message-items li.msg[data-seq]').evaluateAll((els) => els.map((e) => e.dataset.seq));
  assert.equal(new Set(seqs).size, seqs.length, `duplicate seqs on screen: ${seqs}`);
}

export function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
