// Parley serving HTTPS and WSS itself (--tls-cert, --tls-key) to Chromium:
// the page, the API and the WebSocket all over TLS, with HSTS, a Secure
// session cookie and chat between two people. The certificate is self-signed,
// made here; only the browsers of this test trust it (Chromium's
// --ignore-certificate-errors-spki-list with its key's hash, for their own
// profile), so the service worker registers as it would with a real one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { browserSuite, screenshot, tempDir } from './lib/harness.mjs';
import { register, send, waitForMessage } from './lib/ui.mjs';

const certs = tempDir('certs');
const cert = path.join(certs, 'server.crt');
const key = path.join(certs, 'server.key');
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert,
], { stdio: 'ignore' });
// The base64 SHA-256 of the certificate's public key (SubjectPublicKeyInfo, DER).
const spki = execFileSync('sh', ['-c',
  `openssl x509 -in '${cert}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
], { encoding: 'utf8' }).trim();

const { server, person } = browserSuite(['--tls-cert', cert, '--tls-key', key]);

test('two people chat over HTTPS and WSS', async () => {
  assert.match(server.url, /^https:/);
  const ana = await person('ana', { trustSpki: [spki] });
  const bob = await person('bob', { trustSpki: [spki] });

  const res = await ana.page.goto(server.url);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['strict-transport-security'] ?? '', /max-age=\d+/);
  await register(ana.page, server.url, 'ana', { room: 'secure' });
  const [cookie] = (await ana.context.cookies(server.url)).filter((c) => c.name === 'parley_session');
  assert.ok(cookie, 'the session cookie is set');
  assert.equal(cookie.secure, true, 'over HTTPS the session cookie is Secure without --secure-cookies');

  await register(bob.page, server.url, 'bob', { room: 'secure' });
  await send(ana.page, 'hello over wss');
  await waitForMessage(bob.page, 'hello over wss');
  await send(bob.page, 'and back');
  await waitForMessage(ana.page, 'and back');
  assert.equal(await ana.page.evaluate(() => location.protocol), 'https:');
  await screenshot(bob.page, 'tls-chat');
});

test('a browser that does not accept the certificate gets no page', async () => {
  const eve = await person('eve');  // trusts only the system's authorities
  await assert.rejects(eve.page.goto(server.url), /ERR_CERT/);
});
