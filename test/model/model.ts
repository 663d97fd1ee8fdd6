/*
 * A property-based model test: random sequences of logins, refreshes (with the current, the
 * previous or an older token), logouts, logout-alls, session deletes and clock advances run over
 * real HTTP against the router on a store, and against a tiny reference model of the README's "Endpoints" and "How rotation and reuse detection work".
 * After every step the observable outcomes (statuses, the successor of a grace retry, the session
 * lists, which access tokens pass revocation checks) must match the model.
 */
import fc from 'fast-check';
import express from 'express';
import request from 'supertest';
import { createAuth, type RefreshTokenStore } from '../../src/index.js';

const SECRET = 'model-test-secret-of-at-least-32-bytes!';
const IDLE_MS = 3600_000;
const ABSOLUTE_MS = 3 * 3600_000;
const ACCESS_S = 900;
const TOLERANCE_S = 5;
const MAX_SESSIONS = 3;
const USERS = ['alice', 'bob'] as const;

export type Step =
  | { kind: 'login'; user: 0 | 1 }
  | { kind: 'refresh'; family: number; token: number }
  | { kind: 'logout'; family: number }
  | { kind: 'logoutAll'; family: number }
  | { kind: 'deleteSession'; family: number; by: number }
  | { kind: 'advance'; ms: number };

export interface Scenario {
  graceSeconds: 0 | 10;
  steps: Step[];
}

export const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  graceSeconds: fc.constantFrom(0 as const, 10 as const),
  steps: fc.array(
    fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('login' as const), user: fc.constantFrom(0 as const, 1 as const) }) },
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('refresh' as const), family: fc.nat(), token: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('logout' as const), family: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('logoutAll' as const), family: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteSession' as const), family: fc.nat(), by: fc.nat() }) },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('advance' as const),
          ms: fc.constantFrom(1000, 8000, 30_000, 600_000, 3000_000, 7200_000),
        }),
      },
    ),
    { minLength: 1, maxLength: 25 },
  ),
});

/** What the model knows of one family (one login). */
interface ModelFamily {
  id: string;
  user: string;
  tokens: string[]; // every refresh token issued, oldest first
  accessToken: string;
  accessIat: number; // seconds
  alive: boolean;
  createdAt: number;
  expiresAt: number; // idle expiry, capped by the absolute one (ms)
  absoluteExpiresAt: number;
  rotatedAt: number;
}

/**
 * Runs one scenario against a fresh app on `store` and the model side by side; throws (with the
 * step) at the first difference.
 */
export async function runScenario(store: RefreshTokenStore, scenario: Scenario): Promise<void> {
  let now = Date.UTC(2026, 0, 1);
  const graceMs = scenario.graceSeconds * 1000;
  const app = express();
  const auth = createAuth({
    accessToken: { secret: SECRET, expiresIn: ACCESS_S },
    store,
    // Credentials are not what this test is about: no bcrypt, so runs stay fast.
    verifyCredentials: (username) => (USERS.includes(username as never) ? { id: `u-${username}` } : null),
    refreshToken: {
      transport: 'body',
      idleTtl: IDLE_MS / 1000,
      absoluteTtl: ABSOLUTE_MS / 1000,
      reuseGraceSeconds: scenario.graceSeconds,
      maxSessionsPerUser: MAX_SESSIONS,
    },
    now: () => now,
  });
  app.use('/auth', auth.router);
  app.get('/me', auth.requireAccessToken({ revocation: true }), (_req, res) => {
    res.json({ ok: true });
  });

  const families: ModelFamily[] = [];
  const live = (family: ModelFamily) => family.alive && now < family.expiresAt;
  const pick = (index: number) => (families.length ? families[index % families.length]! : undefined);

  async function expectStatus(step: Step, res: request.Response, expected: number) {
    if (res.status !== expected) {
      throw new Error(`step ${JSON.stringify(step)}: expected ${expected}, got ${res.status} ${JSON.stringify(res.body)}`);
    }
  }

  for (const step of scenario.steps) {
    switch (step.kind) {
      case 'login': {
        now += 1000; // distinct createdAt, so "the oldest" is never a tie
        const user = `u-${USERS[step.user]}`;
        const res = await request(app).post('/auth/login').send({ username: USERS[step.user], password: 'x' });
        await expectStatus(step, res, 200);
        const token = res.body.refreshToken as string;
        families.push({
          id: token.split('.')[0]!,
          user,
          tokens: [token],
          accessToken: res.body.accessToken,
          accessIat: Math.floor(now / 1000),
          alive: true,
          createdAt: now,
          expiresAt: Math.min(now + IDLE_MS, now + ABSOLUTE_MS),
          absoluteExpiresAt: now + ABSOLUTE_MS,
          rotatedAt: 0,
        });
        const mine = families.filter((family) => family.user === user && live(family)).sort((a, b) => a.createdAt - b.createdAt);
        for (const evicted of mine.slice(0, Math.max(0, mine.length - MAX_SESSIONS))) evicted.alive = false;
        break;
      }
      case 'refresh': {
        const family = pick(step.family);
        if (!family) break;
        const index = step.token % family.tokens.length;
        const res = await request(app).post('/auth/refresh').send({ refreshToken: family.tokens[index] });
        const isCurrent = index === family.tokens.length - 1;
        const isPrevious = index === family.tokens.length - 2;
        if (!live(family)) {
          await expectStatus(step, res, 401);
        } else if (isCurrent) {
          await expectStatus(step, res, 200);
          family.tokens.push(res.body.refreshToken);
          family.rotatedAt = now;
          family.expiresAt = Math.min(now + IDLE_MS, family.absoluteExpiresAt);
          family.accessToken = res.body.accessToken;
          family.accessIat = Math.floor(now / 1000);
        } else if (isPrevious && graceMs > 0 && now - family.rotatedAt <= graceMs) {
          await expectStatus(step, res, 200);
          if (res.body.refreshToken !== family.tokens.at(-1))
            throw new Error(`step ${JSON.stringify(step)}: the grace retry returned another successor`);
          family.accessToken = res.body.accessToken;
          family.accessIat = Math.floor(now / 1000);
        } else {
          await expectStatus(step, res, 401);
          family.alive = false; // reuse
        }
        break;
      }
      case 'logout': {
        const family = pick(step.family);
        if (!family) break;
        const res = await request(app)
          .post('/auth/logout')
          .set('Authorization', `Bearer ${family.accessToken}`)
          .send({ refreshToken: family.tokens.at(-1) });
        await expectStatus(step, res, 204);
        family.alive = false;
        break;
      }
      case 'logoutAll': {
        const family = pick(step.family);
        if (!family) break;
        const res = await request(app).post('/auth/logout-all').set('Authorization', `Bearer ${family.accessToken}`);
        const accepted = live(family) && accessValid(family, now);
        await expectStatus(step, res, accepted ? 204 : 401);
        if (accepted) for (const other of families) if (other.user === family.user) other.alive = false;
        break;
      }
      case 'deleteSession': {
        const target = pick(step.family);
        const caller = pick(step.by);
        if (!target || !caller) break;
        const res = await request(app).delete(`/auth/sessions/${target.id}`).set('Authorization', `Bearer ${caller.accessToken}`);
        if (!(live(caller) && accessValid(caller, now))) {
          await expectStatus(step, res, 401);
        } else if (target.user === caller.user && live(target)) {
          await expectStatus(step, res, 204);
          target.alive = false;
        } else {
          await expectStatus(step, res, 404);
        }
        break;
      }
      case 'advance':
        now += step.ms;
        break;
    }

    // After every step: each user's session list, and which access tokens still pass.
    for (const user of USERS.map((name) => `u-${name}`)) {
      const holder = families.find((family) => family.user === user && live(family) && accessValid(family, now));
      if (!holder) continue;
      const res = await request(app).get('/auth/sessions').set('Authorization', `Bearer ${holder.accessToken}`);
      await expectStatus(step, res, 200);
      const listed = (res.body.sessions as { id: string }[]).map((session) => session.id).sort();
      const expected = families
        .filter((family) => family.user === user && live(family))
        .map((family) => family.id)
        .sort();
      if (JSON.stringify(listed) !== JSON.stringify(expected)) {
        throw new Error(`after ${JSON.stringify(step)}: ${user} lists ${JSON.stringify(listed)}, the model ${JSON.stringify(expected)}`);
      }
    }
    for (const family of families) {
      const res = await request(app).get('/me').set('Authorization', `Bearer ${family.accessToken}`);
      const expected = live(family) && accessValid(family, now) ? 200 : 401;
      if (res.status !== expected) {
        throw new Error(`after ${JSON.stringify(step)}: the access token of ${family.id} got ${res.status}, the model says ${expected}`);
      }
    }
  }
}

function accessValid(family: ModelFamily, now: number): boolean {
  return Math.floor(now / 1000) < family.accessIat + ACCESS_S + TOLERANCE_S;
}

/** Fixed seed and bounded runs: the same sequences on every run, and CI stays fast. */
export const MODEL_RUNS = { seed: 20261123, numRuns: 200 };
