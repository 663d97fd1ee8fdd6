// The basic example: express-refresh-tokens on the in-memory store, with one demo user and a
// small page that logs in, calls a protected route, refreshes and logs out.
// Run it with `npm run demo` (port 3000, or PORT).
import { readFileSync } from 'node:fs';
import express from 'express';
import {
  createAuthRouter,
  createCredentialsVerifier,
  hashPassword,
  MemoryTokenStore,
  requireAccessToken,
} from 'express-refresh-tokens';

const port = Number(process.env.PORT ?? 3000);
// A real app reads its secret from the environment; the demo makes one if there is none.
const secret = process.env.JWT_SECRET ?? 'demo-only-secret-change-me-0123456789abcdef';
const demoUser = { username: 'demo', password: 'demo-password' };

const users = new Map([
  [demoUser.username, { id: 'user-1', passwordHash: await hashPassword(demoUser.password), roles: ['member'] }],
]);

// One minute, so the page shows refresh at work; the library's default is 15 minutes.
const accessToken = { secret, expiresIn: '1m' };
const store = new MemoryTokenStore();

const app = express();
app.use(
  '/auth',
  createAuthRouter({
    accessToken,
    store,
    verifyCredentials: createCredentialsVerifier({ findUser: (username) => users.get(username) ?? null }),
    // Plain HTTP on localhost: browsers drop Secure cookies there. Keep the default (true) in production.
    refreshToken: { cookie: { secure: false } },
    hooks: {
      onReuseDetected: ({ userId, sessionId }) => console.warn(`reuse detected: user ${userId}, session ${sessionId} revoked`),
    },
  }),
);

app.get('/api/me', requireAccessToken({ ...accessToken, store }), (req, res) => {
  res.json({ userId: req.auth.userId, roles: req.auth.roles, sessionId: req.auth.sessionId, expiresAt: req.auth.expiresAt });
});

const page = readFileSync(new URL('./index.html', import.meta.url), 'utf8');
app.get('/', (_req, res) => {
  res.type('html').send(page);
});

const server = app.listen(port, () => {
  console.log(`express-refresh-tokens demo on http://localhost:${port}`);
  console.log(`demo user: ${demoUser.username} / ${demoUser.password}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    store.close();
  });
}
