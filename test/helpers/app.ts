import express from 'express';
import request, { type Response } from 'supertest';
import {
  createAuth,
  createCredentialsVerifier,
  hashPassword,
  MemoryTokenStore,
  type Auth,
  type AuthOptions,
  type RefreshTokenStore,
} from '../../src/index.js';

export const SECRET = 'test-secret-that-is-at-least-32-bytes-long!!';
export const PASSWORD = 'correct horse battery staple';

let aliceHash: Promise<string> | undefined;
/** One bcrypt hash per test file, at the lowest cost we allow. */
export function passwordHash(): Promise<string> {
  return (aliceHash ??= hashPassword(PASSWORD, { cost: 10 }));
}

export interface Recorded {
  name: string;
  event: Record<string, unknown>;
}

export interface TestApp {
  app: express.Express;
  auth: Auth;
  store: RefreshTokenStore;
  clock: { now: number };
  events: Recorded[];
}

type Overrides = Partial<Omit<AuthOptions, 'refreshToken'>> & { refreshToken?: AuthOptions['refreshToken'] };

/**
 * An app as a user would write it: `createAuth` on a store, its router at /auth, `/me` behind
 * `auth.requireAccessToken` with revocation checks, `/stateless` without, `/admin` needing a
 * role. The clock is injected so tests move time without sleeping.
 */
export async function makeApp(overrides: Overrides = {}): Promise<TestApp> {
  const hash = await passwordHash();
  const clock = { now: Date.UTC(2026, 0, 1) };
  const now = () => clock.now;
  const store = overrides.store ?? new MemoryTokenStore();
  const events: Recorded[] = [];
  const record = (name: string) => (event: Record<string, unknown>) => {
    const { req: _req, ...rest } = event;
    events.push({ name, event: rest });
  };
  const users: Record<string, { id: string; passwordHash: string; roles?: string[]; scopes?: string[] }> = {
    alice: { id: 'u-alice', passwordHash: hash, roles: ['admin'], scopes: ['read', 'write'] },
    bob: { id: 'u-bob', passwordHash: hash },
  };
  const auth = createAuth({
    accessToken: { secret: SECRET },
    store,
    verifyCredentials: createCredentialsVerifier({ findUser: (name) => users[name] ?? null, cost: 10 }),
    now,
    hooks: {
      onLogin: record('onLogin'),
      onLoginFailed: record('onLoginFailed'),
      onRefresh: record('onRefresh'),
      onReuseDetected: record('onReuseDetected'),
      onLogout: record('onLogout'),
    },
    ...overrides,
  } as AuthOptions);
  const app = express();
  app.use('/auth', auth.router);
  app.get('/me', auth.requireAccessToken({ revocation: true }), (req, res) => {
    res.json(req.auth);
  });
  app.get('/stateless', auth.requireAccessToken(), (req, res) => {
    res.json(req.auth);
  });
  app.get('/admin', auth.requireAccessToken({ revocation: true, roles: ['admin'] }), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/writer', auth.requireAccessToken({ scopes: ['read', 'write'] }), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/maybe', auth.requireAccessToken({ optional: true }), (req, res) => {
    res.json({ userId: req.auth?.userId ?? null });
  });
  return { app, auth, store, clock, events };
}

/** The refresh cookie a response set: its value and attributes, or undefined. */
export function refreshCookie(res: Response, name = 'refresh_token'): { value: string; attributes: string[] } | undefined {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  const line = header?.find((cookie) => cookie.startsWith(`${name}=`));
  if (!line) return undefined;
  const [pair, ...attributes] = line.split(';').map((part) => part.trim());
  return { value: pair!.slice(name.length + 1), attributes };
}

export function cookieHeader(token: string, name = 'refresh_token'): string {
  return `${name}=${token}`;
}

/** Logs a demo user in (alice or bob) and returns what the client would keep. */
export async function login(t: TestApp, username = 'alice', headers: Record<string, string> = {}) {
  const res = await request(t.app).post('/auth/login').set(headers).send({ username, password: PASSWORD });
  expect(res.status).toBe(200);
  return { res, accessToken: res.body.accessToken as string, refreshToken: refreshCookie(res)!.value };
}

/** An error answer exactly as the README ("Errors") shapes it: the status, the code, a message, JSON. */
export function expectError(res: Response, status: number, error: string): void {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: { error, message: expect.any(String) } });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
}

/** The 401 of a refused access token (README "Errors"): the code, a message, and the Bearer challenge. */
export function expectInvalidToken(res: Response): void {
  expect({ status: res.status, body: res.body, challenge: res.headers['www-authenticate'] }).toEqual({
    status: 401,
    body: { error: 'invalid_token', message: expect.any(String) },
    challenge: 'Bearer error="invalid_token"',
  });
}

/** `POST /auth/refresh` with the refresh token in its cookie, as a browser sends it. */
export function refresh(t: TestApp, refreshToken: string, headers: Record<string, string> = {}) {
  return request(t.app).post('/auth/refresh').set(headers).set('Cookie', cookieHeader(refreshToken));
}

/** `GET /me`, the route behind `requireAccessToken` with revocation checks. */
export function me(t: TestApp, accessToken: string) {
  return request(t.app).get('/me').set('Authorization', `Bearer ${accessToken}`);
}
