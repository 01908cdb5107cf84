// A hostile extension UI: tries everything a script on the platform origin could do with the
// admin's session, and writes what worked into the page, where the browser tests read it.
(async () => {
  const out = { origin: String(self.origin), cookie: null, storage: null, parent: null, apiKey: null, installs: null, sw: null };
  const attempt = async (name, fn) => { try { out[name] = await fn(); } catch (e) { out[name] = 'blocked'; } };
  await attempt('cookie', () => document.cookie);
  await attempt('storage', () => { localStorage.setItem('x', '1'); return 'writable'; });
  await attempt('parent', () => (window.parent !== window ? window.parent.document.title : 'top'));
  await attempt('apiKey', async () => (await fetch('/api/v1/api-keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'stolen', roles: ['extension:admin'] }) })).status);
  await attempt('installs', async () => (await fetch('/api/v1/installs')).status);
  await attempt('sw', async () => { await navigator.serviceWorker.register('/api/ext-proxy/com.alga.samples.misbehaving/sw.js', { scope: '/' }); return 'registered'; });
  document.getElementById('out').textContent = JSON.stringify(out);
  document.title = 'done';
})();
