// The basic example's app: express-refresh-tokens on the in-memory store, one demo user, and a
// page that uses the browser client (express-refresh-tokens/client). The router is mounted twice:
// at /auth with cookie transport (the page), and at /auth-body with body transport (the README's
// Node client example). Besides the password login, two other ways in start a session with
// auth.startSession: sign-up, and a one-time sign-in link ("magic link"). server.mjs starts it;
// the tests (test/client/demo.test.ts, test/e2e) start the same app with short token lifetimes.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import cookieParser from 'cookie-parser';
import express from 'express';
import { authErrorHandler, createAuth, createCredentialsVerifier, hashPassword, MemoryTokenStore } from 'express-refresh-tokens';

export const demoUser = { username: 'demo', password: 'demo-password' };

/** How long a sign-in link works, once. */
const MAGIC_LINK_TTL_MS = 10 * 60 * 1000;
const sha256 = (text) => createHash('sha256').update(text).digest('base64url');

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
 * @param {boolean} [options.revealMagicLinks] answer the sign-in link in the response of
 *   POST /api/magic-link, so that the page can offer it without e-mail (default true: a demo
 *   convenience only; a real app e-mails it and answers the same for every address)
 * @param {(line: string) => void} [options.print] where the sign-in links are printed; default console.log
 */
export async function createDemoApp({
  secret,
  accessTokenTtl = '1m',
  idleTtl = '14d',
  clockToleranceSeconds,
  reuseGraceSeconds,
  store = new MemoryTokenStore(),
  cookieSecret = randomBytes(32).toString('base64url'),
  revealMagicLinks = true,
  print = console.log,
} = {}) {
  // Cost 10 (the minimum) keeps the demo's logins quick; keep the default, 12, in production.
  const HASH_COST = 10;
  /** The user table, by username. `claims.name` puts the name in the access token, for the page to show. */
  const users = new Map();
  let lastId = 0;
  async function addUser(username, password) {
    const user = {
      id: `user-${++lastId}`,
      passwordHash: await hashPassword(password, { cost: HASH_COST }),
      roles: ['member'],
      claims: { name: username },
    };
    users.set(username, user);
    return user;
  }
  await addUser(demoUser.username, demoUser.password);
  // Never a secret written down here: whoever reads it (or a cracking tool's dictionary) could
  // forge tokens for every copy of the demo that runs without JWT_SECRET.
  const secretIsRandom = secret === undefined;
  const accessToken = { secret: secret ?? randomBytes(32), expiresIn: accessTokenTtl, clockToleranceSeconds };
  const verifyCredentials = createCredentialsVerifier({ findUser: (username) => users.get(username) ?? null, cost: HASH_COST });
  const hooks = {
    onReuseDetected: ({ userId, sessionId }) => console.warn(`reuse detected: user ${userId}, session ${sessionId} revoked`),
  };
  const auth = createAuth({
    accessToken,
    store,
    verifyCredentials,
    // Plain HTTP on localhost: browsers drop Secure cookies there. Keep the default (true) in production.
    refreshToken: { idleTtl, reuseGraceSeconds, cookie: { secure: false } },
    hooks,
  });
  // The same users, keys and store, for clients that keep the refresh token themselves (a Node
  // service, a mobile app): tokens in the JSON body, no cookie. Tokens of either mount pass
  // auth.requireAccessToken, since both sign with the same key.
  const bodyAuth = createAuth({ accessToken, store, verifyCredentials, refreshToken: { idleTtl, transport: 'body' }, hooks });

  const app = express();
  // What most Express apps have in front of everything. The auth router reads the raw Cookie
  // header and its own JSON body, so it works the same behind them.
  app.use(cookieParser(cookieSecret));
  app.use(express.json());
  app.use('/auth', auth.router);
  app.use('/auth-body', bodyAuth.router);
  // Errors raised before the routers (malformed JSON caught by express.json() above) answer JSON too.
  app.use(['/auth', '/auth-body'], authErrorHandler());

  // Sign-in routes of the app's own start sessions with auth.startSession, which sets the refresh
  // cookie as /auth/login does, and refuses a POST from another site as /login does (login CSRF).
  // Requiring JSON stops such a request earlier, before it creates a user: a page of another origin
  // can send JSON only after a CORS preflight that this app never grants, and a form cannot at all.
  const jsonOnly = (req, res, next) =>
    req.is('application/json') ? next() : res.status(415).json({ error: 'invalid_request', message: 'Send JSON.' });

  // Sign-up: create the user, then start a session at once, as a login would.
  app.post('/api/signup', jsonOnly, async (req, res, next) => {
    try {
      const { username, password } = req.body ?? {};
      if (
        typeof username !== 'string' ||
        !/^[\w.@-]{1,64}$/.test(username) ||
        typeof password !== 'string' ||
        password.length < 8 ||
        Buffer.byteLength(password) > 72
      ) {
        return res.status(400).json({
          error: 'invalid_request',
          message: 'A username of 1 to 64 letters, digits or ._@- and a password of 8 to 72 bytes, please.',
        });
      }
      if (users.has(username)) return res.status(409).json({ error: 'username_taken', message: 'That username is taken.' });
      const user = await addUser(username, password);
      // RFC 8176 'pwd': the user just chose the password, which proves as much as typing it.
      res.status(201).json(await auth.startSession(req, res, user, { amr: ['pwd'] }));
    } catch (error) {
      next(error);
    }
  });

  // Magic link, step 1: a one-time link for the user, printed to the console (a real app e-mails
  // it). Only its hash is kept: a copy of this map signs no one in. The answer is the same whether
  // or not the user exists, but for the link the demo reveals to save you the e-mail.
  //
  // The link works only in the browser that asked for it: the answer sets a cookie that the link
  // is bound to. Without that, anyone could ask for a link to their own account and get you to
  // open it: your browser would be signed in to their account (login CSRF), and a one-time token
  // does nothing against it, since it is the attacker's own.
  const magicLinks = new Map(); // sha256(token) -> { username, binding: sha256(cookie), expiresAt }
  const BINDING_COOKIE = 'magic_link_binding';
  app.post('/api/magic-link', jsonOnly, (req, res) => {
    const { username } = req.body ?? {};
    if (typeof username !== 'string' || username.length === 0 || username.length > 256) {
      return res.status(400).json({ error: 'invalid_request', message: 'username is required.' });
    }
    const now = Date.now();
    for (const [hash, link] of magicLinks) if (link.expiresAt <= now) magicLinks.delete(hash);
    const binding = randomBytes(32).toString('base64url');
    res.cookie(BINDING_COOKIE, binding, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/api/magic-link',
      maxAge: MAGIC_LINK_TTL_MS,
      secure: req.secure,
    });
    let link;
    if (users.has(username)) {
      const token = randomBytes(32).toString('base64url');
      magicLinks.set(sha256(token), { username, binding: sha256(binding), expiresAt: now + MAGIC_LINK_TTL_MS });
      // In the fragment: the browser sends it to no server (no access log, no Referer), and the
      // page posts it. A GET that signed in would be spent by mail scanners that open links.
      link = `${req.protocol}://${req.get('host')}/#magic-link=${token}`;
      print(`sign-in link for ${username} (valid 10 minutes, once, in the browser that asked): ${link}`);
    }
    res.status(202).json(revealMagicLinks && link ? { sent: true, link } : { sent: true });
  });

  // Magic link, step 2: the page posts the token from the link; it works once, within 10 minutes,
  // in the browser that asked for it.
  app.post('/api/magic-link/verify', jsonOnly, async (req, res, next) => {
    try {
      const { token } = req.body ?? {};
      const hash = typeof token === 'string' ? sha256(token) : '';
      const link = magicLinks.get(hash);
      magicLinks.delete(hash); // spent, whatever follows
      const binding = req.cookies?.[BINDING_COOKIE];
      if (link && (typeof binding !== 'string' || sha256(binding) !== link.binding)) {
        return res.status(400).json({ error: 'invalid_link', message: 'Open the sign-in link in the browser that asked for it.' });
      }
      const user = link && link.expiresAt > Date.now() ? users.get(link.username) : undefined;
      if (!user)
        return res
          .status(400)
          .json({ error: 'invalid_link', message: 'This sign-in link is unknown, used or expired: ask for a new one.' });
      res.clearCookie(BINDING_COOKIE, { path: '/api/magic-link' });
      // RFC 8176 has no value for a link sent by e-mail. 'otp' (one-time password) is the nearest:
      // a single-use secret delivered out of band, proving control of the mailbox; 'sms' and
      // 'tel' name a phone.
      res.json(await auth.startSession(req, res, user, { amr: ['otp'] }));
    } catch (error) {
      next(error);
    }
  });

  app.get('/api/me', auth.requireAccessToken({ revocation: true }), (req, res) => {
    const { userId, roles, sessionId, expiresAt, amr, claims } = req.auth;
    res.json({ userId, name: claims.name, roles, amr, sessionId, expiresAt });
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

  return { app, auth, bodyAuth, store, secretIsRandom };
}

/** What the demo servers print about the secret they sign with. */
export const RANDOM_SECRET_NOTICE =
  'JWT_SECRET is not set: tokens are signed with a random secret made for this start (set JWT_SECRET to keep them valid across restarts and instances)';
