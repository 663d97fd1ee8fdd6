// The basic example's app: express-refresh-tokens on the in-memory store, one demo user, and a
// page that uses the browser client (express-refresh-tokens/client). server.mjs starts it; the
// browser tests (test/e2e) start the same app with short token lifetimes.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import cookieParser from 'cookie-parser';
import express from 'express';
import { authErrorHandler, createAuth, createCredentialsVerifier, hashPassword, MemoryTokenStore } from 'express-refresh-tokens';

export const demoUser = { username: 'demo', password: 'demo-password' };

/**
 * @param {object} [options]
 * @param {string} [options.secret] the access-token secret (32 bytes or more); default: a random
 *   one made for this start (`secretIsRandom` says so), so that no token outlives the process
 * @param {string | number} [options.accessTokenTtl] access-token lifetime; the library's default is '15m'
 * @param {string | number} [options.idleTtl] refresh-token idle lifetime
 * @param {number} [options.clockToleranceSeconds] allowed clock skew; the library's default is 5
 * @param {number} [options.reuseGraceSeconds] the grace window; the library's default is 10 (cookie transport)
 * @param {import('express-refresh-tokens').RefreshTokenStore} [options.store] default: a MemoryTokenStore
 * @param {string} [options.cookieSecret] signs the app's own cookies; default: random at each start
 */
export async function createDemoApp({
  secret,
  accessTokenTtl = '1m',
  idleTtl = '14d',
  clockToleranceSeconds,
  reuseGraceSeconds,
  store = new MemoryTokenStore(),
  cookieSecret = randomBytes(32).toString('base64url'),
} = {}) {
  // Cost 10 (the minimum) keeps the demo's logins quick; keep the default, 12, in production.
  const users = new Map([
    [demoUser.username, { id: 'user-1', passwordHash: await hashPassword(demoUser.password, { cost: 10 }), roles: ['member'] }],
  ]);
  // Never a secret written down here: whoever reads it (or a cracking tool's dictionary) could
  // forge tokens for every copy of the demo that runs without JWT_SECRET.
  const secretIsRandom = secret === undefined;
  const auth = createAuth({
    accessToken: { secret: secret ?? randomBytes(32), expiresIn: accessTokenTtl, clockToleranceSeconds },
    store,
    verifyCredentials: createCredentialsVerifier({ findUser: (username) => users.get(username) ?? null, cost: 10 }),
    // Plain HTTP on localhost: browsers drop Secure cookies there. Keep the default (true) in production.
    refreshToken: { idleTtl, reuseGraceSeconds, cookie: { secure: false } },
    hooks: {
      onReuseDetected: ({ userId, sessionId }) => console.warn(`reuse detected: user ${userId}, session ${sessionId} revoked`),
    },
  });

  const app = express();
  // What most Express apps have in front of everything. The auth router reads the raw Cookie
  // header and its own JSON body, so it works the same behind them.
  app.use(cookieParser(cookieSecret));
  app.use(express.json());
  app.use('/auth', auth.router);
  // Errors raised before the router (malformed JSON caught by express.json() above) answer JSON too.
  app.use('/auth', authErrorHandler());

  app.get('/api/me', auth.requireAccessToken({ revocation: true }), (req, res) => {
    res.json({ userId: req.auth.userId, roles: req.auth.roles, sessionId: req.auth.sessionId, expiresAt: req.auth.expiresAt });
  });

  // The page's own preference, in a signed cookie of the app's (cookie-parser), not an auth matter.
  app.get('/api/preferences', (req, res) => {
    res.json({ poll: req.signedCookies.prefs === 'poll' });
  });
  app.put('/api/preferences', (req, res) => {
    const maxAge = 365 * 24 * 3600 * 1000;
    res.cookie('prefs', req.body?.poll === true ? 'poll' : 'none', { signed: true, httpOnly: true, sameSite: 'strict', maxAge });
    res.status(204).end();
  });

  // The browser client as the package ships it (dist/esm/client, an ES module with its imports).
  const clientDir = dirname(fileURLToPath(import.meta.resolve('express-refresh-tokens/client')));
  app.use('/client', express.static(clientDir, { index: false }));

  const page = readFileSync(new URL('./index.html', import.meta.url), 'utf8');
  app.get('/', (_req, res) => {
    res.type('html').send(page);
  });

  return { app, auth, store, secretIsRandom };
}

/** What the demo servers print about the secret they sign with. */
export const RANDOM_SECRET_NOTICE =
  'JWT_SECRET is not set: tokens are signed with a random secret made for this start (set JWT_SECRET to keep them valid across restarts and instances)';
