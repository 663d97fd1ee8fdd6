// The basic example: express-refresh-tokens on the in-memory store, with one demo user and a
// page that logs in (password, sign-up or a one-time sign-in link) through the browser client,
// shows the access token counting down and being refreshed, lists the sessions and logs out. The
// router serves cookie transport at /auth (the page) and body transport at /auth-body (the
// README's Node client example).
// Run it with `npm run demo` (port 3000, or PORT). ACCESS_TOKEN_TTL (default '1m') and
// REFRESH_IDLE_TTL (default '14d') set the lifetimes, e.g. ACCESS_TOKEN_TTL=10s.
import { createDemoApp, demoUser, RANDOM_SECRET_NOTICE } from './app.mjs';

const port = Number(process.env.PORT ?? 3000);
const { app, store, secretIsRandom } = await createDemoApp({
  // A real app reads its secret from the environment; without one the demo makes a random one.
  secret: process.env.JWT_SECRET,
  // One minute, so the page shows refresh at work; the library's default is 15 minutes.
  accessTokenTtl: process.env.ACCESS_TOKEN_TTL,
  idleTtl: process.env.REFRESH_IDLE_TTL,
});

if (secretIsRandom) console.log(RANDOM_SECRET_NOTICE);
const server = app.listen(port, () => {
  console.log(`express-refresh-tokens demo on http://localhost:${server.address().port}`);
  console.log(`demo user: ${demoUser.username} / ${demoUser.password}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    store.close();
  });
}
