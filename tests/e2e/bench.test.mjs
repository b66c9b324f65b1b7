// The protocol benchmark page runs in the browser and shows its numbers.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, Person, screenshot, Server } from './lib/harness.mjs';

let server;
let person;

before(async () => {
  server = await new Server().start();
  person = await new Person('reader', { viewport: { width: 1280, height: 900 } }).launch();
});

after(async () => {
  await person?.close();
  await server?.stop();
  cleanupTemp();
  assert.deepEqual(person?.errors ?? [], []);
});

test('the bench page runs encode/decode against JSON and shows numbers', async () => {
  const { page } = person;
  await page.goto(`${server.url}/bench.html?ms=150`);
  await page.locator('body[data-state="done"]').waitFor({ timeout: 90000 });
  const rows = await page.locator('#bench-results tbody tr').evaluateAll((trs) => trs.map((tr) => {
    const value = (m) => Number(tr.querySelector(`[data-metric="${m}"]`).dataset.value);
    return {
      packet: tr.dataset.packet,
      wasmEncode: value('wasm-encode'), wasmDecode: value('wasm-decode'), wasmBytes: value('wasm-bytes'),
      jsonEncode: value('json-encode'), jsonDecode: value('json-decode'), jsonBytes: value('json-bytes'),
    };
  }));
  assert.deepEqual(rows.map((r) => r.packet),
    ['send_message', 'chat_message', 'ack', 'typing_update', 'reaction_update', 'presence_update', 'history_page']);
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) if (k !== 'packet') assert.ok(Number.isFinite(v) && v > 0, `${r.packet} ${k} = ${v}`);
    // The binary protocol is smaller than JSON for every packet.
    assert.ok(r.wasmBytes < r.jsonBytes, `${r.packet}: ${r.wasmBytes} bytes vs JSON ${r.jsonBytes}`);
  }
  // The sizes the spec gives for typical packets (docs/protocol.md, section 18).
  assert.equal(rows.find((r) => r.packet === 'send_message').wasmBytes, 70);
  assert.match(await page.locator('#bench-status').textContent(), /^Done/);
  assert.equal(await page.locator('#bench-run').isEnabled(), true);
  await screenshot(page, 'bench');
});
