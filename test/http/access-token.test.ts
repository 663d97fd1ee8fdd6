import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { cookieHeader, makeApp, PASSWORD, refreshCookie, SECRET, type TestApp } from '../helpers/app.js';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWS built by hand, so tests can make tokens that jsonwebtoken would refuse to sign. */
function forge(header: Record<string, unknown>, payload: unknown, key: string | Buffer = SECRET, hmac = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hmac, key).update(input).digest('base64url')}`;
}

async function login(t: TestApp, username = 'alice') {
  const res = await request(t.app).post('/auth/login').send({ username, password: PASSWORD });
  expect(res.status).toBe(200);
  return res.body.accessToken as string;
}

function claimsOf(token: string): jwt.JwtPayload {
  return jwt.decode(token) as jwt.JwtPayload;
}

const get = (t: TestApp, path: string, token?: string) => {
  const req = request(t.app).get(path);
  return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
};

function expectInvalidToken(res: request.Response) {
  expect(res.status).toBe(401);
  expect(res.body).toEqual({ error: 'invalid_token', message: expect.any(String) });
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
}

describe('requireAccessToken', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await makeApp();
    token = await login(t);
  });

  it('sets req.auth from a valid token', async () => {
    const res = await get(t, '/me', token);
    expect(res.status).toBe(200);
    const claims = claimsOf(token);
    expect(res.body).toEqual({
      userId: 'u-alice',
      sessionId: claims.sid,
      tokenId: claims.jti,
      roles: ['admin'],
      scopes: ['read', 'write'],
      claims,
      expiresAt: new Date(claims.exp! * 1000).toISOString(),
    });
  });

  describe('without a token', () => {
    it('answers 401 missing_token with WWW-Authenticate: Bearer', async () => {
      const res = await get(t, '/me');
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('missing_token');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });

    it('never reads a token from the query string', async () => {
      const res = await request(t.app).get(`/me?access_token=${token}`);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('missing_token');
    });

    it('treats another authorization scheme as no token', async () => {
      const res = await request(t.app).get('/me').set('Authorization', `Basic ${b64('alice:pw')}`);
      expect(res.body.error).toBe('missing_token');
    });

    it('continues without req.auth when optional, but still refuses a bad token', async () => {
      expect((await get(t, '/maybe')).body).toEqual({ userId: null });
      expect((await get(t, '/maybe', token)).body).toEqual({ userId: 'u-alice' });
      expectInvalidToken(await get(t, '/maybe', 'garbage'));
    });
  });

  describe('refuses with 401 invalid_token', () => {
    const now = () => Math.floor(t.clock.now / 1000);
    const payload = () => ({ sub: 'u-alice', sid: claimsOf(token).sid, jti: 'j1', iat: now(), exp: now() + 900 });
    const header = { alg: 'HS256', typ: 'at+jwt' };

    it('accepts the hand-made control token (so the cases below fail for their own reason)', async () => {
      expect((await get(t, '/stateless', forge(header, payload()))).status).toBe(200);
    });

    it.each(['application/at+jwt', 'AT+JWT'])('accepts typ %s, as RFC 9068 allows', async (typ) => {
      expect((await get(t, '/stateless', forge({ alg: 'HS256', typ }, payload()))).status).toBe(200);
    });

    it.each([
      ['garbage', () => 'garbage'],
      ['a malformed header', () => 'a.b'],
      ['alg: none', () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(payload())}.`],
      ['alg: None', () => forge({ alg: 'None', typ: 'at+jwt' }, payload())],
      ['alg: hs256 (case differs)', () => forge({ alg: 'hs256', typ: 'at+jwt' }, payload())],
      ['another HS algorithm with the same secret', () => forge({ alg: 'HS512', typ: 'at+jwt' }, payload(), SECRET, 'sha512')],
      ['a wrong secret', () => forge(header, payload(), 'another-secret-of-at-least-32-bytes!!')],
      ['no exp', () => forge(header, { ...payload(), exp: undefined })],
      ['a string exp', () => forge(header, { ...payload(), exp: String(now() + 900) })],
      ['no iat', () => forge(header, { ...payload(), iat: undefined })],
      ['an iat in the future', () => forge(header, { ...payload(), iat: now() + 60 })],
      ['an iat older than the lifetime', () => forge(header, { ...payload(), iat: now() - 1000, exp: now() + 100 })],
      ['an expired token', () => forge(header, { ...payload(), iat: now() - 900, exp: now() - 10 })],
      ['a string payload', () => forge(header, 'hello')],
      ['an array payload', () => forge(header, [payload()])],
      ['typ JWT', () => forge({ alg: 'HS256', typ: 'JWT' }, payload())],
      ['no typ', () => forge({ alg: 'HS256' }, payload())],
      ['no sid', () => forge(header, { ...payload(), sid: undefined })],
      ['a numeric sub', () => forge(header, { ...payload(), sub: 42 })],
      ['roles that are not strings', () => forge(header, { ...payload(), roles: [{ admin: true }] })],
      ['four segments', () => `${forge(header, payload())}.extra`],
      ['a tampered payload', () => {
        const [h, , s] = token.split('.');
        return `${h}.${b64({ ...claimsOf(token), sub: 'u-bob' })}.${s}`;
      }],
      ['a JWS JSON serialisation', () => JSON.stringify({ payload: b64(payload()), signatures: [] })],
    ])('%s', async (_name, make) => {
      const res = await request(t.app).get('/stateless').set('Authorization', `Bearer ${make()}`);
      expect(res.status).toBe(401);
      expect(['invalid_token']).toContain(res.body.error);
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });
  });

  describe('roles and scopes', () => {
    it('answers 403 insufficient_scope without one of the roles', async () => {
      const bob = await login(t, 'bob');
      const res = await get(t, '/admin', bob);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_scope');
      expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
      expect((await get(t, '/admin', token)).status).toBe(200);
    });

    it('requires every scope', async () => {
      expect((await get(t, '/writer', token)).status).toBe(200);
      const bob = await login(t, 'bob');
      expect((await get(t, '/writer', bob)).body.error).toBe('insufficient_scope');
    });
  });

  describe('with issuer and audience', () => {
    let strict: TestApp;
    beforeAll(async () => {
      strict = await makeApp({ accessToken: { secret: SECRET, issuer: 'https://api.example.com', audience: 'web' } });
    });

    it('signs and requires them', async () => {
      const good = await login(strict);
      expect(claimsOf(good)).toMatchObject({ iss: 'https://api.example.com', aud: 'web' });
      expect((await get(strict, '/stateless', good)).status).toBe(200);
    });

    it.each([
      ['another issuer', { iss: 'https://evil.example.com', aud: 'web' }],
      ['another audience', { iss: 'https://api.example.com', aud: 'admin' }],
      ['neither', {}],
    ])('refuses %s', async (_name, claims) => {
      const now = Math.floor(strict.clock.now / 1000);
      const forged = forge({ alg: 'HS256', typ: 'at+jwt' }, { sub: 'u', sid: 's', jti: 'j', iat: now, exp: now + 60, ...claims });
      expectInvalidToken(await get(strict, '/stateless', forged));
    });
  });

  describe.each([
    ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['PS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' })],
  ] as const)('with %s', (algorithm, makeKeys) => {
    let keyed: TestApp;
    let keys: { publicKey: KeyObject; privateKey: KeyObject };
    beforeAll(async () => {
      keys = makeKeys();
      keyed = await makeApp({ accessToken: { algorithm, privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string } });
    });

    it('signs, verifies and refreshes', async () => {
      const res = await request(keyed.app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
      expect(jwt.decode(res.body.accessToken, { complete: true })!.header).toEqual({ alg: algorithm, typ: 'at+jwt' });
      expect((await get(keyed, '/me', res.body.accessToken)).status).toBe(200);
      const rotated = await request(keyed.app).post('/auth/refresh').set('Cookie', cookieHeader(refreshCookie(res)!.value));
      expect((await get(keyed, '/me', rotated.body.accessToken)).status).toBe(200);
    });

    it('refuses HS256 signed with the public key (algorithm confusion), PEM or DER', async () => {
      const now = Math.floor(keyed.clock.now / 1000);
      const claims = { sub: 'u-alice', sid: 's', jti: 'j', iat: now, exp: now + 60 };
      const pem = keys.publicKey.export({ type: 'spki', format: 'pem' });
      const der = keys.publicKey.export({ type: 'spki', format: 'der' });
      expectInvalidToken(await get(keyed, '/stateless', forge({ alg: 'HS256', typ: 'at+jwt' }, claims, pem)));
      expectInvalidToken(await get(keyed, '/stateless', forge({ alg: 'HS256', typ: 'at+jwt' }, claims, der)));
    });
  });
});
