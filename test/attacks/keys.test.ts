/*
 * Attacks on key sets and on createAccessTokenVerifier, over HTTP: every forged token is answered
 * 401 invalid_token with its WWW-Authenticate header, never a 500; tokens with made-up kids
 * cannot make a verifier hammer its JWKS host; a JWKS host that answers garbage or stalls costs
 * a 503, not a hung request.
 */
import { createHmac, sign as cryptoSign } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { createAccessTokenVerifier, createAuth, MemoryTokenStore, type AccessTokenOptions } from '../../src/index.js';
import { expectInvalidToken } from '../helpers/app.js';
import { ecKeyPair, json, startJwksHost, type JwksHost } from '../helpers/keys.js';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';
const es = ecKeyPair();
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = () => ({ sub: 'u-alice', sid: 'family-1', jti: 'j-1', iat: now(), exp: now() + 600 });
const hmac = (header: Record<string, unknown>, key: string | Buffer = SECRET) => {
  const input = `${b64(header)}.${b64(claims())}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
};
const es256 = (header: Record<string, unknown>, key = es.privateKey) => {
  const input = `${b64(header)}.${b64(claims())}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
};

describe('a key set mixing an HMAC secret and an EC key, behind auth.requireAccessToken', () => {
  const store = new MemoryTokenStore();
  afterAll(() => store.close());
  const accessToken: AccessTokenOptions = {
    keys: [
      { kid: 'es', privateKey: es.privateKey, algorithm: 'ES256' },
      { kid: 'hs', secret: SECRET },
    ],
  };
  const auth = createAuth({ accessToken, store });
  const app = express();
  app.get('/me', auth.requireAccessToken(), (req, res) => void res.json({ userId: req.auth!.userId }));
  const get = (token: string) => request(app).get('/me').set('Authorization', `Bearer ${token}`);
  const publicPem = es.publicKey.export({ type: 'spki', format: 'pem' });

  it('passes the genuine tokens of either key (the refusals below are not for lack of a key)', async () => {
    expect((await get(es256({ alg: 'ES256', typ: 'at+jwt', kid: 'es' })).expect(200)).body).toEqual({ userId: 'u-alice' });
    expect((await get(hmac({ alg: 'HS256', typ: 'at+jwt', kid: 'hs' })).expect(200)).body).toEqual({ userId: 'u-alice' });
  });

  it.each([
    ['HS256 keyed with the public key, under its kid', hmac({ alg: 'HS256', typ: 'at+jwt', kid: 'es' }, publicPem)],
    [
      'HS256 keyed with the public key in DER',
      hmac({ alg: 'HS256', typ: 'at+jwt', kid: 'es' }, es.publicKey.export({ type: 'spki', format: 'der' })),
    ],
    ['ES256 under the HMAC key kid', es256({ alg: 'ES256', typ: 'at+jwt', kid: 'hs' })],
    ['alg none under each kid', `${b64({ alg: 'none', typ: 'at+jwt', kid: 'es' })}.${b64(claims())}.`],
    ['a kid naming no key', hmac({ alg: 'HS256', typ: 'at+jwt', kid: 'hs2' })],
    ['a path as kid', hmac({ alg: 'HS256', typ: 'at+jwt', kid: '../../../../dev/null' })],
    ['a kid of 6,000 characters', hmac({ alg: 'HS256', typ: 'at+jwt', kid: 'k'.repeat(6000) })],
    ['a kid that is an object', hmac({ alg: 'HS256', typ: 'at+jwt', kid: { $ne: null } })],
    [
      'its own key in jwk',
      es256({ alg: 'ES256', typ: 'at+jwt', kid: 'es', jwk: ecKeyPair().publicKey.export({ format: 'jwk' }) }, ecKeyPair().privateKey),
    ],
    [
      'a jku to fetch keys from',
      es256({ alg: 'ES256', typ: 'at+jwt', kid: 'es', jku: 'http://127.0.0.1:1/jwks.json' }, ecKeyPair().privateKey),
    ],
  ])('refuses %s', async (_name, token) => {
    expectInvalidToken(await get(token));
  });
});

describe('createAccessTokenVerifier against a hostile or failing JWKS host', () => {
  let host: JwksHost;
  const published = { keys: [{ ...es.publicKey.export({ format: 'jwk' }), kid: 'es', alg: 'ES256', use: 'sig' }] };
  beforeEach(async () => {
    host = await startJwksHost(json(published));
  });
  afterEach(() => host.close());

  it('fetches at most once per cooldown, however many tokens name kids it lacks', async () => {
    const verifier = createAccessTokenVerifier({ jwksUri: host.url, jwksCooldown: '30s' });
    const app = express();
    app.get('/data', verifier.requireAccessToken(), (req, res) => void res.json({ userId: req.auth!.userId }));
    await request(app)
      .get('/data')
      .set('Authorization', `Bearer ${es256({ alg: 'ES256', typ: 'at+jwt', kid: 'es' })}`)
      .expect(200);
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request(app)
          .get('/data')
          .set('Authorization', `Bearer ${es256({ alg: 'ES256', typ: 'at+jwt', kid: `random-${i}` })}`),
      ),
    );
    for (const res of answers) expectInvalidToken(res);
    // The first fetch started the cooldown: no kid, however new, fetches again within it.
    expect(host.requests).toBe(1);
  });

  it('answers 503 promptly when the host stalls, then serves once it answers', async () => {
    let stalled = true;
    host.answer = (req, res) => {
      if (!stalled) json(published)(req, res);
    };
    const clock = { now: Date.now() };
    const verifier = createAccessTokenVerifier({ jwksUri: host.url, jwksTimeoutMs: 200, now: () => clock.now });
    const app = express();
    app.get('/data', verifier.requireAccessToken(), (req, res) => void res.json({ userId: req.auth!.userId }));
    const token = es256({ alg: 'ES256', typ: 'at+jwt', kid: 'es' });
    const res = await request(app).get('/data').set('Authorization', `Bearer ${token}`);
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 503, error: 'store_unavailable' });
    stalled = false;
    // Within a second of the failed fetch: 503 at once, without asking the host again.
    expect((await request(app).get('/data').set('Authorization', `Bearer ${token}`)).status).toBe(503);
    expect(host.requests).toBe(1);
    clock.now += 1_000;
    expect((await request(app).get('/data').set('Authorization', `Bearer ${token}`).expect(200)).body).toEqual({ userId: 'u-alice' });
  });

  it('never takes a secret from a JWKS: an HS256 token keyed with a published "oct" key is refused', async () => {
    host.answer = json({ keys: [{ kty: 'oct', kid: 'oct', alg: 'HS256', k: Buffer.from(SECRET).toString('base64url') }] });
    const verifier = createAccessTokenVerifier({ jwksUri: host.url });
    const app = express();
    app.get('/data', verifier.requireAccessToken(), (_req, res) => void res.json({ ok: true }));
    expectInvalidToken(
      await request(app)
        .get('/data')
        .set('Authorization', `Bearer ${hmac({ alg: 'HS256', typ: 'at+jwt', kid: 'oct' })}`),
    );
  });
});
