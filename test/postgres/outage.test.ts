/*
 * The app through PostgreSQL outages, on a PRIVATE server (the shared one stays up for the other
 * files): stopped, or hung with its connections open, every call answers 503 store_unavailable
 * within the store timeout and revokes nothing; back, the same app and the same pool serve the
 * same sessions.
 */
import type { Pool } from 'pg';
import request from 'supertest';
import { expectError, login, makeApp, me, PASSWORD, refresh, refreshCookie, type TestApp } from '../helpers/app.js';
import { waitUntil } from '../redis/servers.js';
import { migratedStore, poolFor } from './clients.js';
import { PostgresServer } from './server.js';

let server: PostgresServer;
let pool: Pool;
let t: TestApp;

beforeAll(async () => {
  server = await PostgresServer.start();
  pool = poolFor(server.port);
  // With a grace window, as the README advises for clients whose answers may be lost.
  t = await makeApp({ store: await migratedStore(pool), refreshToken: { reuseGraceSeconds: 10 } });
}, 60_000);
afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

it('stopped: 503 within the store timeout; started again: 200 without restarting the app', async () => {
  const session = await login(t);
  await server.halt();
  const started = Date.now();
  const during = await Promise.all([
    request(t.app).post('/auth/login').send({ username: 'alice', password: PASSWORD }),
    refresh(t, session.refreshToken),
    me(t, session.accessToken),
    request(t.app).get('/auth/sessions').set('Authorization', `Bearer ${session.accessToken}`),
    request(t.app).post('/auth/logout-all').set('Authorization', `Bearer ${session.accessToken}`),
  ]);
  for (const res of during) expectError(res, 503, 'store_unavailable');
  expect(Date.now() - started).toBeLessThan(2500); // the router's store timeout is 2 s

  await server.restart();
  await waitUntil('the app did not recover after the restart', async () => (await me(t, session.accessToken)).status === 200, 15_000);
  // Nothing was revoked or rotated meanwhile: the same refresh token still rotates, once.
  const rotated = await refresh(t, session.refreshToken);
  expect(rotated.status).toBe(200);
  expect((await refresh(t, refreshCookie(rotated)!.value)).status).toBe(200);
  expect((await request(t.app).post('/auth/login').send({ username: 'bob', password: PASSWORD })).status).toBe(200);
}, 60_000);

it('hung (SIGSTOP) past the pool timeouts: 503 within the store timeout, then it serves again on SIGCONT', async () => {
  const session = await login(t);
  server.pause();
  const started = Date.now();
  try {
    const during = await Promise.all([refresh(t, session.refreshToken), me(t, session.accessToken)]);
    for (const res of during) expectError(res, 503, 'store_unavailable');
    expect(Date.now() - started).toBeLessThan(2500);
  } finally {
    server.resume();
  }
  await waitUntil('the app did not recover after SIGCONT', async () => (await me(t, session.accessToken)).status === 200, 15_000);
  // The rotation that timed out was cancelled, or went through after its caller gave up: either
  // way the same token works again (a new rotation, or the grace retry), and is never reuse.
  const rotated = await refresh(t, session.refreshToken);
  expect(rotated.status).toBe(200);
  expect((await refresh(t, refreshCookie(rotated)!.value)).status).toBe(200);
}, 60_000);
