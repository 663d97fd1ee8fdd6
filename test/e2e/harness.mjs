// The browser tests' server: the basic example's app with short token lifetimes, behind a tiny
// middleware that records every POST /auth/refresh it receives (served at GET /__e2e/refreshes)
// and can hold each one for a while first (PUT /__e2e/refresh-delay/<ms>),
// plus two "attacker" servers that serve a page from another origin:
//  - http://127.0.0.2:<port>: another SITE. For an IP address the site is the whole address, so
//    127.0.0.2 and 127.0.0.1 are different sites: the browser sends no SameSite=Strict cookie and
//    marks requests `Sec-Fetch-Site: cross-site`.
//  - http://127.0.0.1:<other port>: another ORIGIN on the SAME site. Sites ignore ports, so the
//    browser does send the SameSite=Strict cookie; only the server's Origin check stops it.
// Prints {"port", "crossSitePort", "sameSitePort"} as one JSON line once everything listens.
import { once } from 'node:events';
import express from 'express';
import { createDemoApp } from '../../examples/basic/app.mjs';

const { app: demo, store } = await createDemoApp({
  accessTokenTtl: Number(process.env.E2E_ACCESS_TOKEN_TTL ?? 3),
  // The server then refuses an expired token at once, as the client's clock expects.
  clockToleranceSeconds: 0,
});

const refreshes = [];
// Holding every refresh this long makes "at the same time" certain in the tests that need it.
let refreshDelayMs = 0;
const app = express();
app.use((req, res, next) => {
  if (req.method === 'POST' && req.path === '/auth/refresh') {
    const entry = {
      origin: req.get('origin') ?? null,
      site: req.get('sec-fetch-site') ?? null,
      cookie: /(?:^|;\s*)refresh_token=/.test(req.get('cookie') ?? ''),
      status: null,
    };
    refreshes.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    setTimeout(next, refreshDelayMs);
    return;
  }
  next();
});
app.get('/__e2e/refreshes', (_req, res) => res.json(refreshes));
app.put('/__e2e/refresh-delay/:ms', (req, res) => {
  refreshDelayMs = Number(req.params.ms);
  res.status(204).end();
});
app.use(demo);

const attackerPage = (victim) => `<!doctype html><title>another site</title>
<form id="csrf" method="POST" action="${victim}/auth/refresh"></form>
<p>Nothing to see here.</p>`;

async function listen(server, host, port = 0) {
  const listening = server.listen(port, host);
  await once(listening, 'listening');
  return listening;
}

const main = await listen(app, '127.0.0.1');
const port = main.address().port;
const victim = `http://127.0.0.1:${port}`;
const attacker = express().get('/', (_req, res) => res.type('html').send(attackerPage(victim)));
const crossSite = await listen(attacker, '127.0.0.2');
const sameSite = await listen(attacker, '127.0.0.1');

console.log(JSON.stringify({ port, crossSitePort: crossSite.address().port, sameSitePort: sameSite.address().port }));

process.on('SIGTERM', () => {
  for (const server of [main, crossSite, sameSite]) server.close();
  store.close();
  process.exit(0);
});
