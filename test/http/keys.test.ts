/*
 * Keys over HTTP: the JWKS the router and jwksHandler serve, tokens crossing to other libraries
 * (jose, express-jwt + jwks-rsa, passport-jwt) and back, createAccessTokenVerifier as route
 * middleware, getToken on every requireAccessToken, and the README's rotation procedure with two
 * app instances on one store. Servers listen on loopback ports: the JWKS is fetched for real.
 */
import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import express from 'express';
import { expressjwt, type Request as JwtRequest } from 'express-jwt';
import * as jose from 'jose';
import jwksRsa from 'jwks-rsa';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import request from 'supertest';
import {
  createAccessTokenVerifier,
  createAuth,
  InvalidTokenError,
  jwksHandler,
  MemoryTokenStore,
  requireAccessToken,
  type AccessTokenOptions,
  type Auth,
  type RefreshTokenStore,
} from '../../src/index.js';
import { expectError } from '../helpers/app.js';
import { headerOf } from '../helpers/jwt.js';
import { ecKeyPair, rsaKeyPair } from '../helpers/keys.js';

const ISSUER = 'https://auth.example';
const AUDIENCE = 'api';
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';
const es = ecKeyPair();
const rsa = rsaKeyPair();
const accessToken: AccessTokenOptions = {
  keys: [
    { kid: 'es-2026', privateKey: es.privateKey, algorithm: 'ES256' },
    { kid: 'rs-2025', privateKey: rsa.privateKey, algorithm: 'RS256' },
    { kid: 'hmac', secret: SECRET },
  ],
  issuer: ISSUER,
  audience: AUDIENCE,
};

async function listen(app: express.Express): Promise<{ server: Server; base: string }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** An app signing with `options`: its router at /auth, a sign-in route, `/me` behind its own middleware. */
function signerApp(
  options: AccessTokenOptions,
  store: RefreshTokenStore,
  now: () => number = Date.now,
): { app: express.Express; auth: Auth } {
  const auth = createAuth({ accessToken: options, store, refreshToken: { transport: 'body' }, now });
  const app = express();
  app.use('/auth', auth.router);
  app.get('/.well-known/jwks.json', jwksHandler(options));
  app.post('/signin/:user', async (req, res) => {
    res.json(await auth.startSession(req, res, { id: String(req.params.user), roles: ['reader'] }));
  });
  app.get('/me', auth.requireAccessToken(), (req, res) => void res.json({ userId: req.auth!.userId }));
  return { app, auth };
}

const signIn = async (app: express.Express, user = 'u-alice') =>
  (await request(app).post(`/signin/${user}`).expect(200)).body as { accessToken: string; refreshToken: string };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('the JWKS and other libraries', () => {
  const store = new MemoryTokenStore();
  const { app, auth } = signerApp(accessToken, store);
  let server: Server;
  let base: string;
  let token: string;
  beforeAll(async () => {
    ({ server, base } = await listen(app));
    token = (await signIn(app)).accessToken;
  });
  afterAll(async () => {
    await close(server);
    await store.close();
  });

  it('serves GET /auth/jwks.json: the public keys, cacheable, and the same at /.well-known/jwks.json', async () => {
    const res = await request(app).get('/auth/jwks.json').expect(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.body).toEqual(auth.jwks());
    expect(res.body.keys.map((key: { kid: string }) => key.kid)).toEqual(['es-2026', 'rs-2025']);
    const wellKnown = await request(app).get('/.well-known/jwks.json').expect(200);
    expect(wellKnown.body).toEqual(res.body);
    expect(wellKnown.headers['cache-control']).toBe('public, max-age=300');
  });

  it('signs tokens that jose verifies with jwtVerify and createRemoteJWKSet on the JWKS endpoint', async () => {
    const jwks = jose.createRemoteJWKSet(new URL(`${base}/auth/jwks.json`));
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    expect(payload.sub).toBe('u-alice');
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'es-2026' });
  });

  it('signs tokens that express-jwt verifies with jwks-rsa', async () => {
    const api = express();
    api.get(
      '/data',
      expressjwt({
        secret: jwksRsa.expressJwtSecret({ jwksUri: `${base}/auth/jwks.json`, cache: true }) as never,
        algorithms: ['ES256', 'RS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
      (req, res) => void res.json({ sub: (req as JwtRequest).auth!.sub }),
    );
    expect((await request(api).get('/data').set(bearer(token)).expect(200)).body).toEqual({ sub: 'u-alice' });
    // An RS256 key of the same set, chosen by kid.
    const rsToken = (await signIn(signerApp({ ...accessToken, keys: [accessToken.keys![1]!] } as AccessTokenOptions, store).app))
      .accessToken;
    expect((await request(api).get('/data').set(bearer(rsToken)).expect(200)).body).toEqual({ sub: 'u-alice' });
  });

  it('signs tokens that passport-jwt verifies', async () => {
    const strategy = new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        secretOrKeyProvider: jwksRsa.passportJwtSecret({ jwksUri: `${base}/auth/jwks.json`, cache: true }),
        algorithms: ['ES256'],
        issuer: ISSUER,
        audience: AUDIENCE,
      },
      (payload: { sub: string }, done: (error: unknown, user?: unknown) => void) => done(null, { id: payload.sub }),
    );
    const pass = new passport.Passport();
    pass.use(strategy);
    const api = express();
    api.use(pass.initialize());
    api.get('/data', pass.authenticate('jwt', { session: false }), (req, res) => void res.json({ user: req.user }));
    expect((await request(api).get('/data').set(bearer(token)).expect(200)).body).toEqual({ user: { id: 'u-alice' } });
    await request(api)
      .get('/data')
      .set(bearer(`${token}x`))
      .expect(401);
  });

  it('verifies tokens that jose signs with a configured key, the same typ and claims, here and in the verifier', async () => {
    const now = Math.floor(Date.now() / 1000);
    const signed = await new jose.SignJWT({ sid: 'family-1', jti: 'j-jose', roles: ['reader'], scope: 'read' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'es-2026' })
      .setSubject('u-jose')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .sign(es.privateKey);
    expect((await request(app).get('/me').set(bearer(signed)).expect(200)).body).toEqual({ userId: 'u-jose' });
    const verifier = createAccessTokenVerifier({ jwksUri: `${base}/auth/jwks.json`, issuer: ISSUER, audience: AUDIENCE });
    expect(await verifier.verify(signed)).toMatchObject({ userId: 'u-jose', roles: ['reader'], scopes: ['read'] });
    // With another typ, jose's token is not an access token here.
    const plainJwt = await new jose.SignJWT({ sid: 'f', jti: 'j' })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'es-2026' })
      .setSubject('u')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .sign(es.privateKey);
    expectError(await request(app).get('/me').set(bearer(plainJwt)), 401, 'invalid_token');
    await expect(verifier.verify(plainJwt)).rejects.toMatchObject({ reason: 'wrong_type' });
  });

  describe('createAccessTokenVerifier().requireAccessToken', () => {
    const api = express();
    let cold: express.Express;
    beforeAll(() => {
      const verifier = createAccessTokenVerifier({ jwksUri: `${base}/auth/jwks.json`, issuer: ISSUER, audience: AUDIENCE });
      api.get('/data', verifier.requireAccessToken(), (req, res) => void res.json(req.auth));
      api.get('/writers', verifier.requireAccessToken({ roles: ['writer'] }), (_req, res) => void res.json({ ok: true }));
      api.get('/maybe', verifier.requireAccessToken({ optional: true }), (req, res) => void res.json({ userId: req.auth?.userId ?? null }));
      api.get(
        '/header',
        verifier.requireAccessToken({ getToken: (req) => req.get('x-access-token') }),
        (req, res) => void res.json({ userId: req.auth!.userId }),
      );
      cold = express();
      const down = createAccessTokenVerifier({ jwksUri: 'http://127.0.0.1:9/jwks.json', jwksTimeoutMs: 500 });
      cold.get('/data', down.requireAccessToken(), (_req, res) => void res.json({ ok: true }));
    });

    it('sets req.auth as the signer does, and refuses as it does', async () => {
      const res = await request(api).get('/data').set(bearer(token)).expect(200);
      expect(res.body).toMatchObject({ userId: 'u-alice', roles: ['reader'], amr: [] });
      expectError(await request(api).get('/writers').set(bearer(token)), 403, 'insufficient_scope');
      expectError(await request(api).get('/data'), 401, 'missing_token');
      expectError(
        await request(api)
          .get('/data')
          .set(bearer(`${token}x`)),
        401,
        'invalid_token',
      );
      expect((await request(api).get('/maybe').expect(200)).body).toEqual({ userId: null });
      expect((await request(api).get('/header').set('X-Access-Token', token).expect(200)).body).toEqual({ userId: 'u-alice' });
    });

    it('answers 503 store_unavailable when it has no keys and cannot fetch them', async () => {
      expectError(await request(cold).get('/data').set(bearer(token)), 503, 'store_unavailable');
    });

    it('refuses revocation options: a verifier has no store', () => {
      expect(() =>
        createAccessTokenVerifier({ jwksUri: `${base}/auth/jwks.json` }).requireAccessToken({ revocation: true } as never),
      ).toThrow(/revocation/);
    });
  });
});

describe('getToken', () => {
  const store = new MemoryTokenStore();
  afterAll(() => store.close());
  const auth = createAuth({ accessToken: { secret: SECRET }, store, refreshToken: { transport: 'body' } });
  const app = express();
  const fromHeader = (req: express.Request) => req.get('x-access-token');
  app.post('/signin', async (req, res) => void res.json(await auth.startSession(req, res, { id: 'u-alice' })));
  app.get('/auth', auth.requireAccessToken({ getToken: fromHeader }), (req, res) => void res.json({ userId: req.auth!.userId }));
  app.get(
    '/standalone',
    requireAccessToken({ secret: SECRET, getToken: fromHeader }),
    (req, res) => void res.json({ userId: req.auth!.userId }),
  );
  app.get(
    '/optional',
    auth.requireAccessToken({ getToken: fromHeader, optional: true }),
    (req, res) => void res.json({ userId: req.auth?.userId ?? null }),
  );
  const odd = (getToken: (req: express.Request) => unknown) => auth.requireAccessToken({ getToken: getToken as never });
  app.get(
    '/throws',
    odd(() => {
      throw new Error('no subprotocol');
    }),
    (_req, res) => void res.json({ ok: true }),
  );
  app.get(
    '/throws-auth-error',
    odd(() => {
      throw new InvalidTokenError('malformed', { message: 'The token subprotocol is malformed.' });
    }),
    (_req, res) => void res.json({ ok: true }),
  );
  app.get(
    '/number',
    odd(() => 42),
    (_req, res) => void res.json({ ok: true }),
  );
  app.get(
    '/promise',
    odd(async () => 'token'),
    (_req, res) => void res.json({ ok: true }),
  );
  app.get(
    '/huge',
    odd(() => 'a'.repeat(10_000)),
    (_req, res) => void res.json({ ok: true }),
  );

  it('reads the token where the app says, on both requireAccessToken', async () => {
    const { accessToken: token } = (await request(app).post('/signin').expect(200)).body;
    for (const path of ['/auth', '/standalone']) {
      expect((await request(app).get(path).set('X-Access-Token', token).expect(200)).body).toEqual({ userId: 'u-alice' });
      // Not in the Bearer header any more: the app chose where the token is.
      expectError(await request(app).get(path).set(bearer(token)), 401, 'missing_token');
      expectError(await request(app).get(path).set('X-Access-Token', `${token}x`), 401, 'invalid_token');
    }
    expect((await request(app).get('/optional').expect(200)).body).toEqual({ userId: null });
  });

  it('answers 401 invalid_token, never 500, when getToken throws or returns what is not a token', async () => {
    for (const path of ['/throws', '/number', '/promise', '/huge']) expectError(await request(app).get(path), 401, 'invalid_token');
    const res = await request(app).get('/throws-auth-error');
    expectError(res, 401, 'invalid_token');
    expect(res.body.message).toBe('The token subprotocol is malformed.');
  });
});

describe("the README's rotation procedure, with two app instances on one store", () => {
  const store = new MemoryTokenStore();
  afterAll(() => store.close());
  const clock = { now: Date.UTC(2026, 0, 1) };
  const now = () => clock.now;
  const k1 = ecKeyPair();
  const k2 = ecKeyPair();
  const key = (kid: string, pair: { privateKey: unknown }) => ({ kid, privateKey: pair.privateKey, algorithm: 'ES256' }) as never;
  /** The configuration of each step, as the README gives it. */
  const steps = {
    start: [key('k1', k1)],
    publish: [key('k1', k1), key('k2', k2)],
    switch: [key('k2', k2), key('k1', k1)],
    retire: [key('k2', k2)],
  };
  type Step = keyof typeof steps;
  const instance = (step: Step) => signerApp({ keys: steps[step], expiresIn: '15m' }, store, now).app;

  /** Every token still within its lifetime passes on every instance. */
  async function expectAllPass(instances: express.Express[], tokens: string[]) {
    for (const app of instances) {
      for (const token of tokens) expect((await request(app).get('/me').set(bearer(token))).status).toBe(200);
    }
  }

  it('never refuses a valid token while the instances move one by one through the steps', async () => {
    // A rolling deploy: at each step one instance runs the new configuration, the other the previous.
    const order: Step[] = ['start', 'publish', 'switch', 'retire'];
    let a = instance('start');
    let b = instance('start');
    let live: string[] = [(await signIn(a)).accessToken];
    const sessions = [await signIn(b)];
    for (const step of order.slice(1)) {
      if (step === 'retire') {
        // Only once every token of k1 has expired: the access-token lifetime after the switch.
        clock.now += 15 * 60_000 + 5_000;
        live = [];
      }
      a = instance(step);
      live.push((await signIn(a)).accessToken, (await signIn(b)).accessToken);
      await expectAllPass([a, b], live);
      b = instance(step);
      live.push((await signIn(b)).accessToken);
      await expectAllPass([a, b], live);
      // A refresh on either instance, with a session begun on the other.
      const refreshed = await request(a)
        .post('/auth/refresh')
        .send({ refreshToken: sessions.at(-1)!.refreshToken })
        .expect(200);
      sessions.push(refreshed.body);
      live.push(refreshed.body.accessToken);
      await expectAllPass([a, b], live);
    }
    const header = headerOf(live.at(-1)!);
    expect(header.kid).toBe('k2');
  });
});
