/*
 * The router on PostgresTokenStore, over real HTTP: the guarantees in the README ("How rotation
 * and reuse detection work"), and what the store leaves in its tables. (Outage: outage.test.ts.)
 */
import type { Pool } from 'pg';
import request from 'supertest';
import { PostgresTokenStore } from '../../src/store/postgres.js';
import { cookieHeader, expectError, login, makeApp, me, PASSWORD, refresh, refreshCookie, type TestApp } from '../helpers/app.js';
import { claimsOf } from '../helpers/jwt.js';
import { sessionIdOf } from '../suites/shared.js';
import { migratedStore, randomTableName, sharedPool } from './clients.js';

let pool: Pool;
let tableName: string;
let t: TestApp;

beforeAll(() => {
  pool = sharedPool();
});
afterAll(() => pool.end());
beforeEach(async () => {
  tableName = randomTableName();
  // No grace window: any rotated token presented again is reuse at once.
  t = await makeApp({ store: await migratedStore(pool, tableName), refreshToken: { reuseGraceSeconds: 0 } });
});

it('lets exactly one of 50 parallel refreshes with one token succeed, then the family is revoked (reuseGraceSeconds: 0)', async () => {
  const { refreshToken } = await login(t);
  const results = await Promise.all(Array.from({ length: 50 }, () => refresh(t, refreshToken)));
  const statuses = results.map((res) => res.status);
  expect(statuses.filter((status) => status === 200)).toHaveLength(1);
  for (const res of results.filter((res) => res.status !== 200)) expectError(res, 401, 'invalid_grant');
  const winner = results.find((res) => res.status === 200)!;
  expectError(await refresh(t, refreshCookie(winner)!.value), 401, 'invalid_grant');
  expect(await t.store.listFamilies('u-alice', t.clock.now)).toEqual([]);
});

it('revokes the family when a rotated token comes back, newest token and access tokens included', async () => {
  const session = await login(t);
  const rotated = await refresh(t, session.refreshToken);
  expect(rotated.status).toBe(200);
  expectError(await refresh(t, session.refreshToken), 401, 'invalid_grant');
  expect(t.events.map((event) => event.name)).toContain('onReuseDetected');
  expectError(await refresh(t, refreshCookie(rotated)!.value), 401, 'invalid_grant');
  expectError(await me(t, rotated.body.accessToken), 401, 'invalid_token');
});

it('runs the whole session life: sessions, delete, logout-all, revocation checks', async () => {
  const laptop = await login(t);
  t.clock.now += 1000;
  const phone = await login(t);
  const sessions = await request(t.app).get('/auth/sessions').set('Authorization', `Bearer ${phone.accessToken}`);
  expect(sessions.status).toBe(200);
  expect(sessions.body.sessions.map((s: { current: boolean }) => s.current)).toEqual([false, true]);
  const id = sessionIdOf(laptop.refreshToken);
  expect((await request(t.app).delete(`/auth/sessions/${id}`).set('Authorization', `Bearer ${phone.accessToken}`)).status).toBe(204);
  expectError(await me(t, laptop.accessToken), 401, 'invalid_token');
  expect((await me(t, phone.accessToken)).status).toBe(200);
  expect((await request(t.app).post('/auth/logout-all').set('Authorization', `Bearer ${phone.accessToken}`)).status).toBe(204);
  expectError(await refresh(t, phone.refreshToken), 401, 'invalid_grant');
  expectError(await me(t, phone.accessToken), 401, 'invalid_token');
});

it('denylists the access token at logout, until its exp plus the largest clock tolerance (300 s)', async () => {
  const session = await login(t);
  const out = await request(t.app)
    .post('/auth/logout')
    .set('Cookie', cookieHeader(session.refreshToken))
    .set('Authorization', `Bearer ${session.accessToken}`);
  expect(out.status).toBe(204);
  expectError(await me(t, session.accessToken), 401, 'invalid_token');
  const exp = claimsOf(session.accessToken).exp as number;
  const { rows } = await pool.query(`SELECT expires_at FROM ${tableName}_denylist`);
  expect(rows.map((row) => Number(row.expires_at))).toEqual([(exp + 300) * 1000]);
});

it('answers 503 store_unavailable, not 500, when the schema is missing', async () => {
  const broken = await makeApp({ store: new PostgresTokenStore({ pool, tableName: randomTableName() }) });
  const res = await request(broken.app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
  expectError(res, 503, 'store_unavailable');
});

it('keeps no refresh token, proof or JWT at rest: only hashes and the sealed successor', async () => {
  const seen: string[] = [];
  let accessToken = '';
  for (const username of ['alice', 'bob', 'alice']) {
    const session = await login(t, username);
    const rotated = await refresh(t, session.refreshToken);
    accessToken = rotated.body.accessToken;
    seen.push(session.accessToken, session.refreshToken, accessToken, refreshCookie(rotated)!.value);
  }
  const last = refreshCookie(await refresh(t, seen.at(-1)!))!.value;
  seen.push(last);
  await request(t.app).post('/auth/logout').set('Cookie', cookieHeader(last)).set('Authorization', `Bearer ${accessToken}`).expect(204);

  // Every row of both tables, every column as text.
  const rows = [
    ...(await pool.query(`SELECT t::text AS content FROM ${tableName} t`)).rows,
    ...(await pool.query(`SELECT t::text AS content FROM ${tableName}_denylist t`)).rows,
  ].map((row) => String(row.content));
  expect(rows.length).toBe(3); // bob's family, alice's first family, the denylisted jti
  // Of a refresh token, its proof and its random part (the family id is meant to be seen); of a
  // JWT, its signature.
  const secrets = seen.flatMap((token) => (token.startsWith('eyJ') ? [token.split('.')[2]!] : token.split('.').slice(1)));
  expect(secrets).toHaveLength(6 + 7 * 2); // 6 access tokens, 7 refresh tokens
  for (const secret of secrets) expect(rows.filter((row) => row.includes(secret))).toEqual([]);
  for (const token of seen) expect(rows.filter((row) => row.includes(token))).toEqual([]);
});
