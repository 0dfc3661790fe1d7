// Service worker of the cabinet. It keeps the app shell (this version's
// files) for offline starts and nothing else: API responses (/v1/...) are
// never cached nor even intercepted, so no screen can show stale data from
// here. A new version (any file changed: the version below changes)
// installs beside the old one and waits; the app shows a banner and
// activates it on request, or it takes over on the next start.
const VERSION = '__LJ_VERSION__';
const CACHE = 'lj-shell-' + VERSION;
const SHELL = ['./', 'index.html', 'app.css', 'app.js', 'api.js', 'outbox.js', 'ui.js', 'scan.js', 'qrworker.js',
  'vendor/jsqr/jsQR.js', 'manifest.webmanifest', 'icon.svg'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL.map((p) => new Request(p, { cache: 'no-cache' })))));
});

self.addEventListener('activate', (e) => {
  e.waitUntil((async () => {
    for (const k of await caches.keys()) if (k.startsWith('lj-shell-') && k !== CACHE) await caches.delete(k);
    await self.clients.claim();
  })());
});

self.addEventListener('message', (e) => { if (e.data === 'skip-waiting') self.skipWaiting(); });

const scope = new URL(self.registration.scope);

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  // Only this origin's shell under /app/; everything else (the API above
  // all) goes to the network untouched.
  if (e.request.method !== 'GET' || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const rel = url.pathname.slice(scope.pathname.length);
  const key = rel === '' ? './' : rel;
  if (!SHELL.includes(key) && e.request.mode !== 'navigate') return;
  e.respondWith((async () => {
    const c = await caches.open(CACHE);
    const hit = await c.match(e.request.mode === 'navigate' ? './' : key);
    if (hit) return hit;
    return fetch(e.request);
  })());
});
