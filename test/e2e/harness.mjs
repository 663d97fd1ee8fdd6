// The browser tests' server: the basic example's app with short token lifetimes, behind a tiny
// middleware that records every POST /auth/refresh it receives (served at GET /__e2e/refreshes)
// and can hold each one for a while first (PUT /__e2e/refresh-delay/<ms>), and counts what the
// store decided for every rotation (GET /__e2e/rotations: rotated, retried inside the grace
// window, reused, invalid; and for each retry, how long after the rotation it came, in ms),
// plus two "attacker" servers that serve a page from another origin:
//  - http://127.0.0.2:<port>: another SITE. For an IP address the site is the whole address, so
//    127.0.0.2 and 127.0.0.1 are different sites: the browser sends no SameSite=Strict cookie and
//    marks requests `Sec-Fetch-Site: cross-site`.
//  - http://127.0.0.1:<other port>: another ORIGIN on the SAME site. Sites ignore ports, so the
//    browser does send the SameSite=Strict cookie; only the server's Origin check stops it.
// Prints {"port", "crossSitePort", "sameSitePort"} as one JSON line once everything listens.
import { once } from 'node:events';
import express from 'express';
import { MemoryTokenStore } from 'express-refresh-tokens';
import { createDemoApp } from '../../examples/basic/app.mjs';

const rotations = { rotated: 0, retried: 0, reused: 0, invalid: 0, retryGapsMs: [] };
class CountingStore extends MemoryTokenStore {
  rotatedAt = new Map(); // presented hash -> when it was rotated
  async rotate(request) {
    const result = await super.rotate(request);
    rotations[result.outcome]++;
    if (result.outcome === 'rotated') this.rotatedAt.set(request.presentedHash, request.now);
    if (result.outcome === 'retried') rotations.retryGapsMs.push(request.now - this.rotatedAt.get(request.presentedHash));
    return result;
  }
}

const { app: demo, store } = await createDemoApp({
  store: new CountingStore(),
  accessTokenTtl: Number(process.env.E2E_ACCESS_TOKEN_TTL ?? 3),
  reuseGraceSeconds: process.env.E2E_REUSE_GRACE_SECONDS ? Number(process.env.E2E_REUSE_GRACE_SECONDS) : undefined,
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
    // Recorded when the answer is written, even to a client that is gone (a reloaded page).
    const end = res.end;
    res.end = function (...args) {
      entry.status = res.statusCode;
      return end.apply(this, args);
    };
    setTimeout(next, refreshDelayMs);
    return;
  }
  next();
});
app.get('/__e2e/refreshes', (_req, res) => res.json(refreshes));
app.get('/__e2e/rotations', (_req, res) => res.json(rotations));
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
