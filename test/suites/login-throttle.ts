/*
 * The login throttle over HTTP (README "Password guessing"): the same tests on every store.
 * test/http/login-throttle.test.ts runs them on the memory store (Express 5 and 4),
 * test/redis/http/login-throttle.test.ts on Redis and Redis Cluster, and
 * test/postgres/login-throttle.test.ts on PostgreSQL. Passwords are checked with real bcrypt.
 */
import express from 'express';
import request, { type Response } from 'supertest';
import { createAuth, createCredentialsVerifier, type AuthOptions, type LoginThrottledEvent } from '../../src/index.js';
import { expectError, passwordHash, PASSWORD, SECRET } from '../helpers/app.js';
import type { MakeStore } from './shared.js';

export const MINUTE = 60_000;

export interface ThrottleApp {
  app: express.Express;
  clock: { now: number };
  /** How many times verifyCredentials ran: a throttled login must not reach it. */
  checks: { count: number };
  throttled: Omit<LoginThrottledEvent, 'req'>[];
}

/**
 * An app behind one trusted proxy (`trust proxy`), so each test picks the client's address with
 * `X-Forwarded-For`; `alice` and `bob` exist, with bcrypt hashes. `clock` may be shared, so two
 * instances see one time.
 */
export async function throttleApp(
  options: Partial<AuthOptions> & { store: AuthOptions['store'] },
  clock = { now: Date.UTC(2026, 0, 1) },
): Promise<ThrottleApp> {
  const hash = await passwordHash();
  const users: Record<string, { id: string; passwordHash: string }> = {
    alice: { id: 'u-alice', passwordHash: hash },
    bob: { id: 'u-bob', passwordHash: hash },
  };
  const verify = createCredentialsVerifier({ findUser: (name) => users[name] ?? null, cost: 10 });
  const checks = { count: 0 };
  const throttled: ThrottleApp['throttled'] = [];
  const auth = createAuth({
    accessToken: { secret: SECRET },
    verifyCredentials: (username, password, req) => {
      checks.count += 1;
      return verify(username, password, req);
    },
    now: () => clock.now,
    hooks: { onLoginThrottled: ({ req: _req, ...event }) => void throttled.push(event) },
    ...options,
  });
  const app = express();
  app.set('trust proxy', true);
  app.use('/auth', auth.router);
  return { app, clock, checks, throttled };
}

export function attempt(t: ThrottleApp, username: string, password: string, ip = '203.0.113.7'): Promise<Response> {
  return request(t.app).post('/auth/login').set('X-Forwarded-For', ip).send({ username, password });
}

/** Fails `times` logins in a row, each one a 401. */
export async function fail(t: ThrottleApp, username: string, times: number, ip?: string): Promise<void> {
  for (let i = 0; i < times; i++) expectError(await attempt(t, username, 'wrong password', ip), 401, 'invalid_credentials');
}

export function expectThrottled(res: Response, retryAfter: number): void {
  expectError(res, 429, 'too_many_attempts');
  expect(res.headers['retry-after']).toBe(String(retryAfter));
  expect(res.headers['set-cookie']).toBeUndefined();
}

export function describeLoginThrottle(name: string, makeStore: MakeStore): void {
  describe(`the login throttle on ${name}`, () => {
    let t: ThrottleApp;
    beforeEach(async () => {
      t = await throttleApp({ store: await makeStore() });
    });

    describe('with the defaults: 5 failures per username and IP in 15 minutes', () => {
      it('answers the 6th attempt 429 too_many_attempts with Retry-After, the right password too, without checking it', async () => {
        await fail(t, 'alice', 5);
        expect(t.checks.count).toBe(5);
        expectThrottled(await attempt(t, 'alice', 'wrong password'), 900);
        expectThrottled(await attempt(t, 'alice', PASSWORD), 900);
        expect(t.checks.count).toBe(5);
        expect(t.throttled).toEqual([
          { username: 'alice', ip: '203.0.113.7', limit: 'perUsernameAndIp', retryAfter: 900 },
          { username: 'alice', ip: '203.0.113.7', limit: 'perUsernameAndIp', retryAfter: 900 },
        ]);
      });

      it('counts the window from the first failure: Retry-After shrinks, and after it the user may sign in', async () => {
        await fail(t, 'alice', 5);
        t.clock.now += 10 * MINUTE + 500;
        expectThrottled(await attempt(t, 'alice', PASSWORD), 300);
        t.clock.now += 5 * MINUTE;
        expect((await attempt(t, 'alice', PASSWORD)).status).toBe(200);
      });

      it('resets the username+IP count on a success: 4 failures, a success, then 5 more failures are allowed', async () => {
        await fail(t, 'alice', 4);
        expect((await attempt(t, 'alice', PASSWORD)).status).toBe(200);
        await fail(t, 'alice', 5);
        expectThrottled(await attempt(t, 'alice', PASSWORD), 900);
      });

      it('never locks the user out from another IP, nor another user from the same IP', async () => {
        await fail(t, 'alice', 5);
        expectThrottled(await attempt(t, 'alice', PASSWORD), 900);
        expect((await attempt(t, 'alice', PASSWORD, '198.51.100.23')).status).toBe(200);
        expect((await attempt(t, 'bob', PASSWORD)).status).toBe(200);
      });

      it('answers an unknown username exactly as a known one: same status, body and headers', async () => {
        await fail(t, 'alice', 5);
        await fail(t, 'nobody', 5);
        const known = await attempt(t, 'alice', 'wrong password');
        const unknown = await attempt(t, 'nobody', 'wrong password');
        expectThrottled(known, 900);
        const headers = (res: Response) => {
          const { date: _date, ...rest } = res.headers;
          return rest;
        };
        expect({ status: unknown.status, body: unknown.body, headers: headers(unknown) }).toEqual({
          status: known.status,
          body: known.body,
          headers: headers(known),
        });
      });

      it('lets at most 5 of 20 parallel wrong passwords reach verifyCredentials', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, () => attempt(t, 'alice', 'wrong password')));
        expect(t.checks.count).toBe(5);
        expect(results.filter((res) => res.status === 401)).toHaveLength(5);
        for (const res of results.filter((res) => res.status !== 401)) expectThrottled(res, 900);
      });

      it('counts a username after NFKC normalisation, trimming and lower-casing', async () => {
        for (const spelling of ['Alice', 'ALICE', ' alice', 'alice\t', '\uFF41\uFF4C\uFF49\uFF43\uFF45']) {
          expectError(await attempt(t, spelling, 'wrong password'), 401, 'invalid_credentials');
        }
        expectThrottled(await attempt(t, 'aLiCe ', PASSWORD), 900);
      });

      it('counts IPv6 clients by their /56 network, and an IPv4-mapped address as the IPv4 address', async () => {
        await fail(t, 'alice', 2, '2001:db8:aa:1100::1');
        await fail(t, 'alice', 2, '2001:db8:aa:11ff:ffff:ffff:ffff:fffe');
        await fail(t, 'alice', 1, '2001:DB8:AA:1100:0:0:0:2');
        expectThrottled(await attempt(t, 'alice', PASSWORD, '2001:db8:aa:11ab::9'), 900);
        expect(t.throttled.at(-1)).toMatchObject({ ip: '2001:db8:aa:1100::/56' });
        expect((await attempt(t, 'alice', PASSWORD, '2001:db8:aa:1200::1')).status).toBe(200);

        await fail(t, 'bob', 3, '192.0.2.1');
        await fail(t, 'bob', 2, '::ffff:192.0.2.1');
        expectThrottled(await attempt(t, 'bob', PASSWORD, '192.0.2.1'), 900);
      });

      it('counts every client whose req.ip is not an address as one', async () => {
        await fail(t, 'alice', 3, 'not-an-ip');
        await fail(t, 'alice', 2, 'another-lie');
        expectThrottled(await attempt(t, 'alice', PASSWORD, 'third'), 900);
        expect(t.throttled.at(-1)).toMatchObject({ ip: 'unknown' });
      });

      it('counts nothing for a request refused before the password check (400)', async () => {
        for (let i = 0; i < 10; i++) {
          expectError(await request(t.app).post('/auth/login').send({ username: 'alice' }), 400, 'invalid_request');
        }
        await fail(t, 'alice', 5);
      });
    });

    describe('the perIp limit', () => {
      beforeEach(async () => {
        t = await throttleApp({ store: await makeStore(), loginThrottle: { perIp: { failures: 3, window: '1h' } } });
      });

      it('refuses a network that sprays many usernames, whatever the username, and reports which limit', async () => {
        await fail(t, 'alice', 1);
        await fail(t, 'bob', 1);
        await fail(t, 'carol', 1);
        expectThrottled(await attempt(t, 'dave', 'wrong password'), 3600);
        expectThrottled(await attempt(t, 'alice', PASSWORD), 3600);
        expect(t.throttled.map((event) => event.limit)).toEqual(['perIp', 'perIp']);
        expect((await attempt(t, 'alice', PASSWORD, '198.51.100.23')).status).toBe(200);
      });

      it('counts failures only: successes from the network do not use it up', async () => {
        for (let i = 0; i < 5; i++) expect((await attempt(t, 'bob', PASSWORD)).status).toBe(200);
        await fail(t, 'alice', 3);
        expectThrottled(await attempt(t, 'carol', 'wrong password'), 3600);
      });
    });

    describe('loginThrottle: false', () => {
      it('counts nothing: every attempt reaches verifyCredentials', async () => {
        t = await throttleApp({ store: await makeStore(), loginThrottle: false });
        await fail(t, 'alice', 12);
        expect(t.checks.count).toBe(12);
        expect((await attempt(t, 'alice', PASSWORD)).status).toBe(200);
      });
    });
  });
}
