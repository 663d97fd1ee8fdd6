// The API of the single-page-app example: express-refresh-tokens on its own origin, answering CORS
// with credentials for the one origin the app is served from. See README.md beside this file.
import { randomBytes } from 'node:crypto';
import express from 'express';
import { createAuth, createCredentialsVerifier, hashPassword, MemoryTokenStore } from 'express-refresh-tokens';

export const demoUser = { username: 'demo', password: 'demo-password' };

/**
 * CORS for one origin, with credentials: the browser then lets the page send the refresh cookie
 * (`credentials: 'include'`) and read the answers. A request from any other origin gets no CORS
 * header: the browser keeps the answer from its page, and refuses to send what needs a preflight
 * (JSON bodies, the Authorization header). CORS only decides what a page may read: the router's
 * `trustedOrigins` is what refuses a request from elsewhere that is sent all the same.
 */
function corsFor(origin) {
  return (req, res, next) => {
    res.vary('Origin'); // the answer differs by Origin: no cache may give one origin's to another
    if (req.get('origin') !== origin) return next();
    res.set('Access-Control-Allow-Origin', origin); // never '*', which credentials forbid
    res.set('Access-Control-Allow-Credentials', 'true');
    if (req.method === 'OPTIONS') {
      // The preflight: what the client sends, JSON bodies and the Bearer header, on these methods.
      res.set('Access-Control-Allow-Methods', 'GET, POST, DELETE');
      res.set('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      res.set('Access-Control-Max-Age', '600');
      return res.status(204).end();
    }
    next();
  };
}

/**
 * @param {object} options
 * @param {string} options.appOrigin where the page is served from, e.g. 'http://localhost:3001'
 * @param {string | number} [options.accessTokenTtl] default '1m'
 */
export async function createApi({ appOrigin, accessTokenTtl = '1m' }) {
  const users = new Map([
    [
      demoUser.username,
      { id: 'user-1', passwordHash: await hashPassword(demoUser.password, { cost: 10 }), claims: { name: demoUser.username } },
    ],
  ]);
  const store = new MemoryTokenStore();
  const auth = createAuth({
    // A real app reads its secret from the environment (see the README's Quick start).
    accessToken: { secret: randomBytes(32), expiresIn: accessTokenTtl },
    store,
    verifyCredentials: createCredentialsVerifier({ findUser: (username) => users.get(username) ?? null, cost: 10 }),
    // /login, /refresh and /logout come from the app's origin, not the API's own: trust it. Any
    // other origin is refused with 403 csrf_rejected.
    trustedOrigins: [appOrigin],
    refreshToken: {
      // SameSite=Strict (the default) works here: the page and the API are on the SAME SITE
      // (localhost, ports apart; or app.example.com and api.example.com), so the browser sends
      // the cookie. A truly cross-site pair (app.example.com and api.example.net) needs
      // sameSite: 'none', which browsers accept only with Secure (HTTPS), and which browsers that
      // block third-party cookies still refuse: serve the API under the app's site instead.
      // Plain HTTP on localhost: browsers drop Secure cookies there. Keep the default (true) in production.
      cookie: { secure: false },
    },
  });

  const api = express();
  api.use(corsFor(appOrigin));
  api.use('/auth', auth.router);
  api.get('/api/me', auth.requireAccessToken({ revocation: true }), (req, res) => {
    res.json({ userId: req.auth.userId, name: req.auth.claims.name });
  });
  return { api, store };
}
