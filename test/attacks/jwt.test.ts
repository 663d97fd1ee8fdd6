/*
 * Attacks on access tokens: forged algorithms, key confusion, key-fetching headers, malformed
 * claims and serialisations, a denylisted token re-encoded, and tokens of the wrong kind.
 * Every case expects 401 invalid_token with its WWW-Authenticate header, and nothing changed.
 */
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { cookieHeader, expectInvalidToken, login, makeApp, me, refresh, SECRET, type TestApp } from '../helpers/app.js';
import { b64, claimsOf, forge } from '../helpers/jwt.js';

async function expectTokenRefused(t: TestApp, token: string, path = '/stateless') {
  expectInvalidToken(await request(t.app).get(path).set('Authorization', `Bearer ${token}`));
}

/** RS256/ES256 signed by hand with any private key (jsonwebtoken would refuse some headers). */
function signAsymmetric(header: Record<string, unknown>, payload: unknown, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature =
    header.alg === 'ES256'
      ? createSign('sha256').update(input).sign({ key, dsaEncoding: 'ieee-p1363' })
      : createSign('sha256').update(input).sign(key);
  return `${input}.${signature.toString('base64url')}`;
}

describe('JWT attacks', () => {
  let t: TestApp;
  let victim: { accessToken: string; refreshToken: string };
  beforeAll(async () => {
    t = await makeApp();
    victim = await login(t);
  });
  afterAll(async () => {
    // Nothing any attack did touched the victim's session.
    expect((await me(t, victim.accessToken)).status).toBe(200);
  });

  const now = () => Math.floor(t.clock.now / 1000);
  const payload = () => ({ sub: 'u-alice', sid: claimsOf(victim.accessToken).sid, jti: 'forged', iat: now(), exp: now() + 900 });
  const header = { alg: 'HS256', typ: 'at+jwt' };

  it('control: the hand-made token with the right key passes (so each case fails for its own reason)', async () => {
    expect(
      (
        await request(t.app)
          .get('/me')
          .set('Authorization', `Bearer ${forge(header, payload())}`)
      ).status,
    ).toBe(200);
  });

  describe('forged algorithms and signatures', () => {
    it.each([
      ['alg: none, no signature', () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(payload())}.`],
      [
        'alg: none with the HMAC signature kept',
        () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${forge(header, payload()).split('.').slice(1).join('.')}`,
      ],
      ['alg: None', () => forge({ alg: 'None', typ: 'at+jwt' }, payload())],
      ['alg: NONE', () => forge({ alg: 'NONE', typ: 'at+jwt' }, payload())],
      ['alg: hs256 (letter case)', () => forge({ alg: 'hs256', typ: 'at+jwt' }, payload())],
      ['alg: HS512 with the same secret', () => forge({ alg: 'HS512', typ: 'at+jwt' }, payload(), SECRET, 'sha512')],
      ['alg: HS384 with the same secret', () => forge({ alg: 'HS384', typ: 'at+jwt' }, payload(), SECRET, 'sha384')],
      ['no alg', () => forge({ typ: 'at+jwt' }, payload())],
      ['a wrong secret', () => forge(header, payload(), 'another-secret-of-at-least-32-bytes!!')],
      ['an empty signature', () => `${forge(header, payload()).split('.').slice(0, 2).join('.')}.`],
      [
        'a signature of another token',
        () => {
          const [h, p] = forge(header, { ...payload(), sub: 'u-bob' }).split('.');
          return `${h}.${p}.${forge(header, payload()).split('.')[2]}`;
        },
      ],
      [
        'a tampered payload',
        () => {
          const [h, , s] = victim.accessToken.split('.');
          return `${h}.${b64({ ...claimsOf(victim.accessToken), roles: ['admin', 'root'] })}.${s}`;
        },
      ],
    ])('%s', async (_name, make) => {
      await expectTokenRefused(t, make());
    });
  });

  describe('malformed claims and serialisations', () => {
    it.each([
      ['garbage', () => 'garbage'],
      ['two segments', () => forge(header, payload()).split('.').slice(0, 2).join('.')],
      ['four segments', () => `${forge(header, payload())}.extra`],
      [
        'a JWS JSON serialisation',
        () => JSON.stringify({ payload: b64(payload()), signatures: [{ protected: b64(header), signature: 'x' }] }),
      ],
      ['no exp', () => forge(header, { ...payload(), exp: undefined })],
      ['a string exp', () => forge(header, { ...payload(), exp: String(now() + 900) })],
      ['exp as an object', () => forge(header, { ...payload(), exp: { $gt: 0 } })],
      ['no iat', () => forge(header, { ...payload(), iat: undefined })],
      ['an iat in the future', () => forge(header, { ...payload(), iat: now() + 60 })],
      [
        'an iat older than the lifetime, with a far exp',
        () => forge(header, { ...payload(), iat: now() - 10_000, exp: now() + 10_000_000 }),
      ],
      ['an expired token', () => forge(header, { ...payload(), iat: now() - 900, exp: now() - 10 })],
      ['nbf in the future', () => forge(header, { ...payload(), nbf: now() + 600 })],
      ['a string payload', () => forge(header, 'hello')],
      ['an array payload', () => forge(header, [payload()])],
      ['a null payload', () => forge(header, null)],
      ['typ JWT (an ID token signed with the same key)', () => forge({ alg: 'HS256', typ: 'JWT' }, payload())],
      ['no typ', () => forge({ alg: 'HS256' }, payload())],
      ['no sid', () => forge(header, { ...payload(), sid: undefined })],
      ['an empty sub', () => forge(header, { ...payload(), sub: '' })],
      ['a numeric sub', () => forge(header, { ...payload(), sub: 42 })],
      ['roles that are not strings', () => forge(header, { ...payload(), roles: [{ admin: true }] })],
      ['a scope that is not a string', () => forge(header, { ...payload(), scope: ['admin'] })],
    ])('%s', async (_name, make) => {
      await expectTokenRefused(t, make());
    });
  });

  describe('headers that name or carry keys: no lookup, no outbound request', () => {
    let keyServer: Server;
    let fetched = 0;
    let keyUrl: string;
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    beforeAll(async () => {
      keyServer = createServer((_req, res) => {
        fetched++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [{ ...attacker.publicKey.export({ format: 'jwk' }), kid: 'evil', alg: 'RS256', use: 'sig' }] }));
      }).listen(0, '127.0.0.1');
      await once(keyServer, 'listening');
      keyUrl = `http://127.0.0.1:${(keyServer.address() as { port: number }).port}/jwks.json`;
    });
    afterAll(() => {
      keyServer.close();
      expect(fetched).toBe(0);
    });

    it.each([
      ['kid naming another key (HS256)', () => forge({ ...header, kid: '../../dev/null' }, payload(), '')],
      [
        'jku pointing at an attacker key set (RS256)',
        () => signAsymmetric({ alg: 'RS256', typ: 'at+jwt', jku: keyUrl, kid: 'evil' }, payload(), attacker.privateKey),
      ],
      [
        'x5u pointing at an attacker certificate (RS256)',
        () => signAsymmetric({ alg: 'RS256', typ: 'at+jwt', x5u: keyUrl }, payload(), attacker.privateKey),
      ],
      [
        'an embedded jwk (RS256)',
        () =>
          signAsymmetric(
            { alg: 'RS256', typ: 'at+jwt', jwk: attacker.publicKey.export({ format: 'jwk' }) },
            payload(),
            attacker.privateKey,
          ),
      ],
      [
        'kid, jku and a valid HMAC: the extra headers change nothing',
        () => forge({ ...header, kid: 'x', jku: keyUrl }, payload(), 'not-our-secret-but-32-bytes-long!!!'),
      ],
    ])('%s', async (_name, make) => {
      await expectTokenRefused(t, make());
    });
  });

  it.each([
    ['crit naming an extension we do not implement', { crit: ['exp-check'], 'exp-check': true }],
    ['crit: b64 with an unencoded payload flag', { crit: ['b64'], b64: false }],
    ['crit that is not even a list', { crit: 'anything' }],
  ])('refuses a header with %s (RFC 7515: an unknown crit must be refused)', async (_name, extra) => {
    await expectTokenRefused(t, forge({ ...header, ...extra }, payload()), '/stateless');
    await expectTokenRefused(t, forge({ ...header, ...extra }, payload()), '/me');
  });

  describe('tokens of the wrong kind', () => {
    it('an access token sent as a refresh token: 401 invalid_grant, nothing rotated', async () => {
      const native = await makeApp({ refreshToken: { transport: 'body' } });
      for (const res of [
        await request(native.app).post('/auth/refresh').send({ refreshToken: victim.accessToken }),
        await request(t.app).post('/auth/refresh').set('Cookie', cookieHeader(victim.accessToken)),
      ]) {
        expect({ status: res.status, error: res.body.error }).toEqual({ status: 401, error: 'invalid_grant' });
      }
    });

    it('a refresh token sent as an access token: 401 invalid_token', async () => {
      const session = await login(t, 'bob');
      await expectTokenRefused(t, session.refreshToken, '/me');
      expect((await refresh(t, session.refreshToken)).status).toBe(200);
    });
  });
});

describe.each([
  ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' })],
] as const)('JWT attacks on %s', (algorithm, makeKeys) => {
  const keys = makeKeys();

  describe.each([
    [
      'a PEM public key',
      () => ({ algorithm, privateKey: keys.privateKey, publicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }) as string }),
    ],
    ['a KeyObject public key', () => ({ algorithm, privateKey: keys.privateKey, publicKey: keys.publicKey })],
  ] as const)('verifying with %s', (_name, options) => {
    let t: TestApp;
    beforeAll(async () => {
      t = await makeApp({ accessToken: options() });
    });

    it.each([
      ['PEM text', () => keys.publicKey.export({ type: 'spki', format: 'pem' })],
      ['PEM text without its final newline', () => String(keys.publicKey.export({ type: 'spki', format: 'pem' })).trimEnd()],
      ['DER bytes', () => keys.publicKey.export({ type: 'spki', format: 'der' })],
    ])('refuses HS256 signed with the public key as %s (algorithm confusion)', async (_keyName, key) => {
      const now = Math.floor(t.clock.now / 1000);
      const token = forge({ alg: 'HS256', typ: 'at+jwt' }, { sub: 'u-alice', sid: 's', jti: 'j', iat: now, exp: now + 60 }, key());
      await expectTokenRefused(t, token);
    });
  });

  it('refuses a correctly signed token whose header carries crit (the jsonwebtoken path)', async () => {
    const t = await makeApp({ accessToken: { algorithm, privateKey: keys.privateKey } });
    const now = Math.floor(t.clock.now / 1000);
    const claims = { sub: 'u-alice', sid: 's', jti: 'j', iat: now, exp: now + 60 };
    expect(
      (
        await request(t.app)
          .get('/stateless')
          .set('Authorization', `Bearer ${signAsymmetric({ alg: algorithm, typ: 'at+jwt' }, claims, keys.privateKey)}`)
      ).status,
    ).toBe(200);
    await expectTokenRefused(
      t,
      signAsymmetric({ alg: algorithm, typ: 'at+jwt', crit: ['exp-check'], 'exp-check': true }, claims, keys.privateKey),
    );
  });

  it('still refuses a denylisted token whose signature was re-encoded (the denylist is keyed by jti)', async () => {
    const t = await makeApp({ accessToken: { algorithm, privateKey: keys.privateKey } });
    const session = await login(t);
    const res = await request(t.app)
      .post('/auth/logout')
      .set('Authorization', `Bearer ${session.accessToken}`)
      .set('Cookie', cookieHeader(session.refreshToken));
    expect(res.status).toBe(204);

    const [h, p, s] = session.accessToken.split('.') as [string, string, string];
    const variants = [reencodeTrailingBits(s)];
    if (algorithm === 'ES256') variants.push(negateEcdsaS(s)); // (r, n - s) verifies too
    for (const signature of variants) {
      expect(signature).not.toBe(s);
      const twin = `${h}.${p}.${signature}`;
      // The twin is a valid signature: without revocation checks it passes...
      expect((await request(t.app).get('/stateless').set('Authorization', `Bearer ${twin}`)).status).toBe(200);
      // ...and with them it is refused, like the original.
      await expectTokenRefused(t, twin, '/me');
    }
  });
});

/** The same bytes with the unused low bits of the last base64url character set. */
function reencodeTrailingBits(signature: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const unusedBits = (signature.length * 6) % 8;
  const last = alphabet.indexOf(signature.at(-1)!);
  const twin = signature.slice(0, -1) + alphabet[last | ((1 << unusedBits) - 1)];
  expect(Buffer.from(twin, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
  return twin === signature ? signature.slice(0, -1) + alphabet[last & ~((1 << unusedBits) - 1)] : twin;
}

/** ECDSA malleability: (r, s) and (r, n - s) are both valid signatures of the same message. */
function negateEcdsaS(signature: string): string {
  const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  const bytes = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const negated = Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex');
  return Buffer.concat([bytes.subarray(0, 32), negated]).toString('base64url');
}
