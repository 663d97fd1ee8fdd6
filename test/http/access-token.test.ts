import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { cookieHeader, expectInvalidToken, makeApp, PASSWORD, refreshCookie, SECRET, type TestApp, login } from '../helpers/app.js';
import { b64, claimsOf, forge } from '../helpers/jwt.js';

const accessTokenOf = async (t: TestApp, username = 'alice') => (await login(t, username)).accessToken;

const get = (t: TestApp, path: string, token?: string) => {
  const req = request(t.app).get(path);
  return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
};

describe('requireAccessToken', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await makeApp();
    token = await accessTokenOf(t);
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
      authTime: new Date(claims.auth_time! * 1000).toISOString(),
      amr: ['pwd'],
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
      const res = await request(t.app)
        .get('/me')
        .set('Authorization', `Basic ${b64('alice:pw')}`);
      expect(res.body.error).toBe('missing_token');
    });

    it('continues without req.auth when optional, but still refuses a bad token', async () => {
      expect((await get(t, '/maybe')).body).toEqual({ userId: null });
      expect((await get(t, '/maybe', token)).body).toEqual({ userId: 'u-alice' });
      expectInvalidToken(await get(t, '/maybe', 'garbage'));
    });
  });

  describe('hand-made tokens (the attacks are in test/attacks/jwt.test.ts)', () => {
    const now = () => Math.floor(t.clock.now / 1000);
    const payload = () => ({ sub: 'u-alice', sid: claimsOf(token).sid, jti: 'j1', iat: now(), exp: now() + 900 });
    const header = { alg: 'HS256', typ: 'at+jwt' };

    it('accepts the hand-made control token (so the cases below fail for their own reason)', async () => {
      expect((await get(t, '/stateless', forge(header, payload()))).status).toBe(200);
    });

    it.each(['application/at+jwt', 'AT+JWT'])('accepts typ %s, as RFC 9068 allows', async (typ) => {
      expect((await get(t, '/stateless', forge({ alg: 'HS256', typ }, payload()))).status).toBe(200);
    });
  });

  describe('roles and scopes', () => {
    it('answers 403 insufficient_scope without one of the roles', async () => {
      const bob = await accessTokenOf(t, 'bob');
      const res = await get(t, '/admin', bob);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_scope');
      expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
      expect((await get(t, '/admin', token)).status).toBe(200);
    });

    it('requires every scope', async () => {
      expect((await get(t, '/writer', token)).status).toBe(200);
      const bob = await accessTokenOf(t, 'bob');
      expect((await get(t, '/writer', bob)).body.error).toBe('insufficient_scope');
    });
  });

  describe('with issuer and audience', () => {
    let strict: TestApp;
    beforeAll(async () => {
      strict = await makeApp({ accessToken: { secret: SECRET, issuer: 'https://api.example.com', audience: 'web' } });
    });

    it('signs and requires them', async () => {
      const good = await accessTokenOf(strict);
      expect(claimsOf(good)).toMatchObject({ iss: 'https://api.example.com', aud: 'web' });
      expect((await get(strict, '/stateless', good)).status).toBe(200);
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
      const rotated = await request(keyed.app)
        .post('/auth/refresh')
        .set('Cookie', cookieHeader(refreshCookie(res)!.value));
      expect((await get(keyed, '/me', rotated.body.accessToken)).status).toBe(200);
    });
  });
});
