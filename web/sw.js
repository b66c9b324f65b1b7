// Parley's service worker: the app opens even when the server cannot be
// reached (a reload during an outage shows the app, with its outbox, instead
// of the browser's error page).
//
// Network first, always: a reachable server serves every file as usual (its
// ETags keep revalidation cheap), so a new version is in use at the next
// load. Each successful answer is kept in the cache; only when the network
// fails does the cache answer, and any page navigation falls back to the app
// shell (/index.html, which routes /r/<room> itself). The API and the
// WebSocket are never cached: the app handles their failures itself.
//
// The page tells the worker which files it loaded (the `keep` message), so
// the first visit is enough to make the next one work offline.

const CACHE = 'parley-shell-v1';
const SHELL = '/index.html';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll([SHELL])).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

/** Files of the app: same origin, GET, not the API, the socket or the admin
 *  console (the server decides on every request who gets that page, and it
 *  must never stand in for the app's shell). */
function cacheable(request) {
  if (request.method !== 'GET') return false;
  const url = new URL(request.url);
  return url.origin === self.location.origin && !url.pathname.startsWith('/api/') && url.pathname !== '/ws' &&
    url.pathname !== '/admin' && url.pathname !== '/admin.html';
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === 'basic') {
      await cache.put(request.mode === 'navigate' ? SHELL : request, response.clone());
    }
    return response;
  } catch (err) {
    const kept = await cache.match(request.mode === 'navigate' ? SHELL : request, { ignoreSearch: true });
    if (kept) return kept;
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  if (cacheable(event.request)) event.respondWith(networkFirst(event.request));
});

self.addEventListener('message', (event) => {
  if (event.data?.type !== 'keep' || !Array.isArray(event.data.urls)) return;
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    for (const u of event.data.urls.slice(0, 200)) {
      const request = new Request(u);
      if (!cacheable(request) || (await cache.match(request))) continue;
      try {
        const response = await fetch(request);
        if (response.ok) await cache.put(request, response);
      } catch {
        // offline already: the next visit keeps it
      }
    }
  })());
});
