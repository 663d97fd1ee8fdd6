/*
 * Key sets (`accessToken.keys`), the JWKS they publish, and createAccessTokenVerifier, below
 * HTTP: which key signs, which key verifies, what is refused and why, and how the verifier
 * fetches a JWKS from a real HTTP server on a loopback port (counting its requests). The HTTP
 * side (routes, middleware, interop with other libraries, rotation) is in test/http/keys.test.ts.
 */
import { createHmac, createPrivateKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import * as jose from 'jose';
import jwt from 'jsonwebtoken';
import { resolveAccessTokenOptions } from '../../src/config/access-token.js';
import {
  createAccessTokenVerifier,
  createAuth,
  InvalidTokenError,
  jwksHandler,
  MemoryTokenStore,
  requireAccessToken,
  type AccessTokenOptions,
  type AccessTokenVerifierOptions,
  type AuthError,
} from '../../src/index.js';
import { AccessTokens } from '../../src/tokens/access-token.js';
import { headerOf } from '../helpers/jwt.js';
import { ecKeyPair, json, rsaKeyPair, startJwksHost, type JwksHost } from '../helpers/keys.js';
import { optionError } from '../helpers/options.js';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';
const OTHER_SECRET = 'another-secret-of-at-least-32-bytes!!!';
const NOW = Date.UTC(2026, 0, 1);
const ec = ecKeyPair();
const ec2 = ecKeyPair();
const attacker = ecKeyPair();
const rsa = rsaKeyPair();
const user = { id: 'u-alice', roles: ['admin'] };
const signIn = { authTime: NOW, amr: ['pwd'] };

const tokensOf = (options: AccessTokenOptions, purpose: 'sign' | 'verify' = 'sign') =>
  new AccessTokens(resolveAccessTokenOptions(options, purpose, 'accessToken'));
const signWith = (options: AccessTokenOptions, now = NOW) => tokensOf(options).sign(user, 'family-1', signIn, now).token;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claims = (extra: Record<string, unknown> = {}) => ({
  sub: 'u-alice',
  sid: 'family-1',
  jti: 'j-1',
  iat: NOW / 1000,
  exp: NOW / 1000 + 900,
  ...extra,
});

function hmacToken(header: Record<string, unknown>, payload: unknown, key: string | Buffer = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}
function es256Token(header: Record<string, unknown>, payload: unknown, privateKey = attacker.privateKey): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** The reason a verification failed with; fails the test when it passed. */
function refusal(verify: () => unknown): string | undefined {
  try {
    verify();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTokenError);
    return (error as InvalidTokenError).reason;
  }
  throw new Error('expected the token to be refused');
}

/** The option a start-up error names. */
const optionOf = (make: () => unknown): string => optionError(make).option;

/** A set of three: an ES256 key that signs, an older ES256 key that only verifies, an HMAC key. */
const mixedSet: AccessTokenOptions = {
  keys: [
    { kid: 'ec-new', privateKey: ec.privateKey, algorithm: 'ES256' },
    { kid: 'ec-old', publicKey: ec2.publicKey, algorithm: 'ES256' },
    { kid: 'hmac', secret: SECRET },
  ],
};

describe('accessToken.keys: validation at start-up, naming the option', () => {
  const store = new MemoryTokenStore();
  afterAll(() => store.close());
  const auth = (accessToken: unknown) => () => createAuth({ accessToken: accessToken as AccessTokenOptions, store });

  it.each([
    ['an empty array', { keys: [] }, 'accessToken.keys'],
    ['not an array', { keys: { kid: 'a', secret: SECRET } }, 'accessToken.keys'],
    ['keys beside a secret', { keys: [{ kid: 'a', secret: SECRET }], secret: SECRET }, 'accessToken.keys'],
    ['a key that is not an object', { keys: [null] }, 'accessToken.keys[0]'],
    ['a missing kid', { keys: [{ secret: SECRET }] }, 'accessToken.keys[0].kid'],
    ['an empty kid', { keys: [{ kid: '', secret: SECRET }] }, 'accessToken.keys[0].kid'],
    ['a kid that is not a string', { keys: [{ kid: 7, secret: SECRET }] }, 'accessToken.keys[0].kid'],
    ['a kid of 257 characters', { keys: [{ kid: 'k'.repeat(257), secret: SECRET }] }, 'accessToken.keys[0].kid'],
    // Headers are read as latin1: a kid outside ASCII would match our tokens only, not another encoder's.
    ['a kid outside printable ASCII', { keys: [{ kid: 'clé-2026', secret: SECRET }] }, 'accessToken.keys[0].kid'],
    ['a kid with a control character', { keys: [{ kid: 'a\nb', secret: SECRET }] }, 'accessToken.keys[0].kid'],
    [
      'a repeated kid',
      {
        keys: [
          { kid: 'a', secret: SECRET },
          { kid: 'a', secret: OTHER_SECRET },
        ],
      },
      'accessToken.keys[1].kid',
    ],
    ['an unknown option in a key', { keys: [{ kid: 'a', secret: SECRET, jku: 'https://x' }] }, 'accessToken.keys[0].jku'],
    ['a short secret', { keys: [{ kid: 'a', secret: 'short' }] }, 'accessToken.keys[0].secret'],
    ['a secret with an ES algorithm', { keys: [{ kid: 'a', secret: SECRET, algorithm: 'ES256' }] }, 'accessToken.keys[0].algorithm'],
    [
      'a key on the wrong curve',
      { keys: [{ kid: 'a', privateKey: ecKeyPair('secp384r1').privateKey, algorithm: 'ES256' }] },
      'accessToken.keys[0].privateKey',
    ],
    ['a key pair without algorithm', { keys: [{ kid: 'a', privateKey: ec.privateKey }] }, 'accessToken.keys[0].algorithm'],
    ['public keys only, to sign', { keys: [{ kid: 'a', publicKey: ec.publicKey, algorithm: 'ES256' }] }, 'accessToken.keys'],
  ])('refuses %s', (_name, accessToken, option) => {
    expect(optionOf(auth(accessToken))).toBe(option);
  });

  it("takes the set's algorithm for keys that name none, and their own over it", () => {
    const token = signWith({
      algorithm: 'ES256',
      keys: [
        { kid: 'a', privateKey: ec.privateKey },
        { kid: 'b', secret: SECRET, algorithm: 'HS256' },
      ],
    });
    expect(headerOf(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'a' });
  });

  it('names the standalone middleware in its errors, and a public-key set verifies there', () => {
    expect(optionOf(() => requireAccessToken({ keys: [{ kid: '', secret: SECRET }] } as never))).toBe('requireAccessToken.keys[0].kid');
    expect(typeof requireAccessToken({ keys: [{ kid: 'a', publicKey: ec.publicKey, algorithm: 'ES256' }] })).toBe('function');
  });

  it('refuses a getToken that is not a function, on every requireAccessToken', () => {
    expect(optionOf(() => requireAccessToken({ secret: SECRET, getToken: 'x-token' } as never))).toBe('requireAccessToken.getToken');
    const a = createAuth({ accessToken: { secret: SECRET }, store });
    expect(optionOf(() => a.requireAccessToken({ getToken: 1 } as never))).toBe('requireAccessToken.getToken');
  });
});

describe('signing and verifying with a key set', () => {
  const tokens = tokensOf(mixedSet);

  it('signs with the first key that can sign, its kid in the header', () => {
    const token = tokens.sign(user, 'family-1', signIn, NOW).token;
    expect(headerOf(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'ec-new' });
    expect(tokens.verify(token, NOW).sub).toBe('u-alice');
    // The first key that can sign, even after one that cannot.
    const later = signWith({
      keys: [
        { kid: 'pub', publicKey: ec2.publicKey, algorithm: 'ES256' },
        { kid: 'hmac', secret: SECRET },
      ],
    });
    expect(headerOf(later).kid).toBe('hmac');
  });

  it('verifies a token with the key its kid names, each with its own algorithm', () => {
    const old = signWith({ keys: [{ kid: 'ec-old', privateKey: ec2.privateKey, algorithm: 'ES256' }] });
    const hmac = signWith({ keys: [{ kid: 'hmac', secret: SECRET }] });
    expect(tokens.verify(old, NOW).sub).toBe('u-alice');
    expect(tokens.verify(hmac, NOW).sub).toBe('u-alice');
  });

  it('keeps the one-key options as they were: no kid signed, and a kid in a token not looked at', () => {
    const token = signWith({ secret: SECRET });
    expect(headerOf(token)).toEqual({ alg: 'HS256', typ: 'at+jwt' });
    const withKid = hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: 'anything' }, claims());
    expect(tokensOf({ secret: SECRET }).verify(withKid, NOW).sub).toBe('u-alice');
  });

  it("verifies a token without kid with the set's first key only: what the one-key options signed before the move to keys", () => {
    const oneKey = signWith({ secret: SECRET });
    expect(
      tokensOf({
        keys: [
          { kid: 'k1', secret: SECRET },
          { kid: 'k0', secret: OTHER_SECRET },
        ],
      }).verify(oneKey, NOW).sub,
    ).toBe('u-alice');
    expect(
      refusal(() =>
        tokensOf({
          keys: [
            { kid: 'k2', secret: OTHER_SECRET },
            { kid: 'k1', secret: SECRET },
          ],
        }).verify(oneKey, NOW),
      ),
    ).toBe('bad_signature');
  });

  it('refuses a kid that names no configured key', () => {
    const token = signWith({ keys: [{ kid: 'gone', secret: SECRET }] });
    expect(refusal(() => tokens.verify(token, NOW))).toBe('unknown_key');
  });

  describe('attacks', () => {
    const ecPublicPem = ec.publicKey.export({ type: 'spki', format: 'pem' });

    it('never verifies an HS token with a public key of the set (alg confusion), whatever kid it names', () => {
      for (const kid of ['ec-new', 'ec-old']) {
        // The classic: HMAC over the public key's PEM, the kid of the EC key.
        const token = hmacToken({ alg: 'HS256', typ: 'at+jwt', kid }, claims(), ecPublicPem);
        expect(refusal(() => tokens.verify(token, NOW))).toBe('wrong_algorithm');
      }
    });

    it("refuses an asymmetric alg under the HMAC key's kid, and alg none under any kid", () => {
      expect(refusal(() => tokens.verify(es256Token({ alg: 'ES256', typ: 'at+jwt', kid: 'hmac' }, claims()), NOW))).toBe('wrong_algorithm');
      for (const kid of ['ec-new', 'hmac']) {
        expect(refusal(() => tokens.verify(`${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims())}.`, NOW))).toBe('wrong_algorithm');
      }
      expect(refusal(() => tokens.verify(hmacToken({ alg: 'HS512', typ: 'at+jwt', kid: 'hmac' }, claims()), NOW))).toBe('wrong_algorithm');
    });

    it.each([
      ['a path', '../../../etc/passwd'],
      ['a file URL', 'file:///dev/null'],
      ['SQL', "' OR '1'='1"],
      ['a kid of 100,000 characters', 'k'.repeat(100_000)],
      ['a prototype name', '__proto__'],
      ['a prototype method', 'constructor'],
    ])('treats a kid that is %s as a name it does not know', (_name, kid) => {
      expect(refusal(() => tokens.verify(hmacToken({ alg: 'HS256', typ: 'at+jwt', kid }, claims()), NOW))).toBe('unknown_key');
    });

    it.each([
      ['a number', 1],
      ['an array', ['hmac']],
      ['an object', { toString: 'hmac' }],
      ['null', null],
    ])('refuses a kid that is %s', (_name, kid) => {
      expect(refusal(() => tokens.verify(hmacToken({ alg: 'HS256', typ: 'at+jwt', kid }, claims()), NOW))).toBe('unknown_key');
    });

    it('ignores keys the header offers (jwk, jku, x5u, x5c): a token signed by its own embedded key fails', async () => {
      const attackerSet = { keys: [{ ...attacker.publicKey.export({ format: 'jwk' }), kid: 'ec-new', alg: 'ES256' }] };
      const legitSet = { keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-new', alg: 'ES256' }] };
      const paths: string[] = [];
      const host = await startJwksHost((req, res) => {
        paths.push(req.url!);
        json(req.url === '/legit.json' ? legitSet : attackerSet)(req, res);
      });
      try {
        const header = {
          alg: 'ES256',
          typ: 'at+jwt',
          kid: 'ec-new',
          jwk: attacker.publicKey.export({ format: 'jwk' }),
          jku: host.url,
          x5u: host.url,
          x5c: ['MIIB'],
        };
        expect(refusal(() => tokens.verify(es256Token(header, claims()), NOW))).toBe('bad_signature');
        const verifier = createAccessTokenVerifier({ jwksUri: host.url.replace('jwks.json', 'legit.json'), now: () => NOW });
        await expect(verifier.verify(es256Token(header, claims()))).rejects.toMatchObject({
          code: 'invalid_token',
          reason: 'bad_signature',
        });
        // The only request the host saw was the verifier's own, to its configured URL.
        expect(paths).toEqual(['/legit.json']);
      } finally {
        await host.close();
      }
    });

    it('applies the header rules (typ, crit) whatever the key', () => {
      expect(refusal(() => tokens.verify(hmacToken({ alg: 'HS256', typ: 'JWT', kid: 'hmac' }, claims()), NOW))).toBe('wrong_type');
      expect(refusal(() => tokens.verify(hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: 'hmac', crit: ['exp'] }, claims()), NOW))).toBe(
        'unsupported_header',
      );
      expect(refusal(() => tokens.verify(es256Token({ alg: 'ES256', typ: 'JWT', kid: 'ec-new' }, claims(), ec.privateKey), NOW))).toBe(
        'wrong_type',
      );
      expect(
        refusal(() =>
          tokens.verify(es256Token({ alg: 'ES256', typ: 'at+jwt', kid: 'ec-new', crit: ['b64'] }, claims(), ec.privateKey), NOW),
        ),
      ).toBe('unsupported_header');
      // And the same token with a clean header passes: the refusals above are the header's.
      expect(tokens.verify(es256Token({ alg: 'ES256', typ: 'at+jwt', kid: 'ec-new' }, claims(), ec.privateKey), NOW).sub).toBe('u-alice');
    });
  });
});

describe('the JWKS of a configuration', () => {
  const store = new MemoryTokenStore();
  afterAll(() => store.close());

  it('publishes the public keys, with kid, alg and use, never a secret nor a private member', () => {
    const jwks = createAuth({
      accessToken: { keys: [...(mixedSet as { keys: [] }).keys, { kid: 'rsa', publicKey: rsa.publicKey, algorithm: 'PS256' }] },
      store,
    }).jwks();
    expect(jwks.keys.map(({ kid, alg, use, kty }) => ({ kid, alg, use, kty }))).toEqual([
      { kid: 'ec-new', alg: 'ES256', use: 'sig', kty: 'EC' },
      { kid: 'ec-old', alg: 'ES256', use: 'sig', kty: 'EC' },
      { kid: 'rsa', alg: 'PS256', use: 'sig', kty: 'RSA' },
    ]);
    expect(jwks.keys[0]).toEqual({ ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-new', alg: 'ES256', use: 'sig' });
    expect(JSON.stringify(jwks)).not.toMatch(/"d"|"k"|"p"|"q"/);
  });

  it('jwksHandler checks its options as accessToken does, naming itself', () => {
    expect(optionOf(() => jwksHandler({ secret: SECRET, jwksUri: 'https://x' } as never))).toBe('jwksHandler.jwksUri');
    expect(optionOf(() => jwksHandler({ keys: [{ kid: 'a' }] } as never))).toBe('jwksHandler.keys[0].secret');
    expect(optionOf(() => jwksHandler(undefined as never))).toBe('jwksHandler');
  });

  it('is empty with HMAC keys only, and names no kid for the one-key options', () => {
    expect(createAuth({ accessToken: { keys: [{ kid: 'h', secret: SECRET }] }, store }).jwks()).toEqual({ keys: [] });
    expect(createAuth({ accessToken: { secret: SECRET }, store }).jwks()).toEqual({ keys: [] });
    const [key] = createAuth({ accessToken: { algorithm: 'ES256', privateKey: ec.privateKey }, store }).jwks().keys;
    expect(key).toEqual({ ...ec.publicKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig' });
  });
});

describe('createAccessTokenVerifier', () => {
  const signer: AccessTokenOptions = {
    keys: [{ kid: 'ec-new', privateKey: ec.privateKey, algorithm: 'ES256' }],
    issuer: 'https://auth.example',
    audience: 'api',
  };
  const publicSet = { keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-new', alg: 'ES256', use: 'sig' }] };
  const token = () => signWith(signer);
  const clock = { now: NOW };
  const verifierOf = (options: Partial<AccessTokenVerifierOptions>) =>
    createAccessTokenVerifier({
      issuer: 'https://auth.example',
      audience: 'api',
      now: () => clock.now,
      ...options,
    } as AccessTokenVerifierOptions);
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a refusal');
      },
      (error: AuthError) => ({ code: error.code, reason: error.reason }),
    );
  let host: JwksHost;
  beforeEach(async () => {
    clock.now = NOW;
    host = await startJwksHost(json(publicSet));
  });
  afterEach(() => host.close());

  describe('options', () => {
    it.each([
      ['neither jwksUri nor keys', {}, 'createAccessTokenVerifier.jwksUri'],
      ['both', { jwksUri: 'https://auth.example/jwks.json', keys: [{ kid: 'a', secret: SECRET }] }, 'createAccessTokenVerifier.jwksUri'],
      ['plain http to another host', { jwksUri: 'http://auth.example/jwks.json' }, 'createAccessTokenVerifier.jwksUri'],
      ['a jwksUri that is no URL', { jwksUri: 'jwks.json' }, 'createAccessTokenVerifier.jwksUri'],
      [
        'HMAC algorithms for a JWKS',
        { jwksUri: 'https://auth.example/jwks.json', algorithms: ['HS256'] },
        'createAccessTokenVerifier.algorithms',
      ],
      ['an empty algorithms list', { jwksUri: 'https://auth.example/jwks.json', algorithms: [] }, 'createAccessTokenVerifier.algorithms'],
      [
        'a key outside algorithms',
        { keys: [{ kid: 'a', secret: SECRET }], algorithms: ['ES256'] },
        'createAccessTokenVerifier.keys[0].algorithm',
      ],
      ['an unknown option', { jwksUri: 'https://auth.example/jwks.json', jwksURL: 'x' }, 'createAccessTokenVerifier.jwksURL'],
      ['a cooldown of nothing', { jwksUri: 'https://auth.example/jwks.json', jwksCooldown: 0 }, 'createAccessTokenVerifier.jwksCooldown'],
    ])('refuses %s', (_name, options, option) => {
      expect(optionOf(() => createAccessTokenVerifier(options as AccessTokenVerifierOptions))).toBe(option);
    });
  });

  it('verifies with given keys, to the same AuthInfo as the middleware sets, with no fetch', async () => {
    const verifier = verifierOf({ keys: [{ kid: 'ec-new', publicKey: ec.publicKey, algorithm: 'ES256' }] });
    const info = await verifier.verify(token());
    expect(info).toMatchObject({
      userId: 'u-alice',
      sessionId: 'family-1',
      roles: ['admin'],
      scopes: [],
      amr: ['pwd'],
      authTime: new Date(NOW),
    });
    expect(info.expiresAt).toEqual(new Date(NOW + 900_000));
    expect(await failure(verifier.verify(signWith({ ...signer, issuer: 'https://other.example' } as AccessTokenOptions)))).toEqual({
      code: 'invalid_token',
      reason: 'wrong_issuer',
    });
    expect(await failure(verifier.verify(42 as never))).toEqual({ code: 'invalid_token', reason: 'malformed' });
    expect(host.requests).toBe(0);
  });

  it('fetches the JWKS once, then verifies from its cache', async () => {
    const verifier = verifierOf({ jwksUri: host.url });
    await Promise.all([verifier.verify(token()), verifier.verify(token()), verifier.verify(token())]);
    expect((await verifier.verify(token())).userId).toBe('u-alice');
    expect(host.requests).toBe(1);
  });

  it('applies the signer rules: lifetime, time claims, audience', async () => {
    const verifier = verifierOf({ jwksUri: host.url, expiresIn: '15m' });
    const issued = token();
    clock.now = NOW + 901_000 + 5_000;
    expect(await failure(verifier.verify(issued))).toEqual({ code: 'invalid_token', reason: 'expired' });
    clock.now = NOW;
    expect(await failure(verifierOf({ jwksUri: host.url, audience: 'billing' }).verify(issued))).toEqual({
      code: 'invalid_token',
      reason: 'wrong_audience',
    });
    expect(
      await failure(
        verifierOf({ jwksUri: host.url, expiresIn: '5m' }).verify(
          signWith({ ...signer, expiresIn: '1h' } as AccessTokenOptions, NOW - 600_000),
        ),
      ),
    ).toEqual({
      code: 'invalid_token',
      reason: 'too_old',
    });
  });

  it('refetches for an unknown kid at most once per cooldown', async () => {
    const verifier = verifierOf({ jwksUri: host.url, jwksCooldown: '30s' });
    await verifier.verify(token());
    clock.now += 30_000; // the cooldown counts from the last fetch, the first one included
    const next = {
      keys: [{ kid: 'ec-next', privateKey: ec2.privateKey, algorithm: 'ES256' }],
      issuer: 'https://auth.example',
      audience: 'api',
    } as AccessTokenOptions;
    // Not yet published: one refetch, then none for 30 s, however many tokens name the kid.
    expect(await failure(verifier.verify(signWith(next)))).toEqual({ code: 'invalid_token', reason: 'unknown_key' });
    expect(host.requests).toBe(2);
    host.answer = json({ keys: [...publicSet.keys, { ...ec2.publicKey.export({ format: 'jwk' }), kid: 'ec-next', alg: 'ES256' }] });
    clock.now += 29_000;
    expect(await failure(verifier.verify(signWith(next, clock.now)))).toEqual({ code: 'invalid_token', reason: 'unknown_key' });
    expect(await failure(verifier.verify(hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: 'random' }, claims())))).toMatchObject({
      reason: 'unknown_key',
    });
    expect(host.requests).toBe(2);
    clock.now += 1_000;
    expect((await verifier.verify(signWith(next, clock.now))).userId).toBe('u-alice');
    expect(host.requests).toBe(3);
    // The old key is still in the set: its tokens pass.
    expect((await verifier.verify(signWith(signer, clock.now))).userId).toBe('u-alice');
    expect(host.requests).toBe(3);
  });

  it('serves from its cache while the JWKS host is down, and answers 503 only with no keys at all', async () => {
    const verifier = verifierOf({ jwksUri: host.url });
    await verifier.verify(token());
    await host.close();
    clock.now += 30 * 60_000; // past the cache's max age: the background refetch fails, the cache stays
    expect((await verifier.verify(signWith(signer, clock.now))).userId).toBe('u-alice');
    expect(await failure(verifier.verify(hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: 'random' }, claims())))).toMatchObject({
      reason: 'unknown_key',
    });
    const cold = verifierOf({ jwksUri: host.url });
    expect(await failure(cold.verify(token()))).toEqual({ code: 'store_unavailable', reason: undefined });
  });

  it('drops a set older than jwksMaxStale that no fetch could renew: 503, not a retired key passing for ever', async () => {
    const verifier = verifierOf({ jwksUri: host.url, jwksMaxStale: '1h' });
    await verifier.verify(token());
    const answer = host.answer;
    host.answer = (_req, res) => void res.writeHead(503).end();
    clock.now += 61 * 60_000;
    expect(await failure(verifier.verify(signWith(signer, clock.now)))).toEqual({ code: 'store_unavailable', reason: undefined });
    // The host answers again: the set is fetched anew and tokens pass.
    host.answer = answer;
    clock.now += 1_000;
    expect((await verifier.verify(signWith(signer, clock.now))).userId).toBe('u-alice');
  });

  it('without keys, fetches at most once a second while the host fails, and never for a token that is no JWS', async () => {
    host.answer = (_req, res) => void res.writeHead(503).end();
    const verifier = verifierOf({ jwksUri: host.url });
    for (let i = 0; i < 20; i += 1)
      expect(await failure(verifier.verify(token()))).toEqual({ code: 'store_unavailable', reason: undefined });
    expect(host.requests).toBe(1);
    expect(await failure(verifier.verify('garbage'))).toEqual({ code: 'invalid_token', reason: 'malformed' });
    clock.now += 1_000;
    await failure(verifier.verify(token()));
    expect(host.requests).toBe(2);
  });

  it('refuses a jwksMaxStale shorter than jwksCacheMaxAge', () => {
    expect(() => verifierOf({ jwksUri: host.url, jwksCacheMaxAge: '10m', jwksMaxStale: '5m' })).toThrow(
      expect.objectContaining({ name: 'ConfigurationError', option: 'createAccessTokenVerifier.jwksMaxStale' }),
    );
  });

  it('fetches a stale set again in the background, once per cooldown, and takes the new set', async () => {
    const verifier = verifierOf({ jwksUri: host.url, jwksCacheMaxAge: '10m' });
    await verifier.verify(token());
    clock.now += 10 * 60_000;
    host.answer = json({ keys: [] }); // the signer retired the key
    await verifier.verify(signWith(signer, clock.now)); // answered from the old set while the new one comes
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(host.requests).toBe(2);
    expect(await failure(verifier.verify(signWith(signer, clock.now)))).toMatchObject({ reason: 'unknown_key' });
    expect(host.requests).toBe(2); // within the cooldown of that fetch
  });

  it('leaves out a JWK whose kid is not printable ASCII, as configuration refuses it', async () => {
    host.answer = json({ keys: [{ ...publicSet.keys[0], kid: 'clé' }, publicSet.keys[0]] });
    const verifier = verifierOf({ jwksUri: host.url });
    expect((await verifier.verify(token())).userId).toBe('u-alice');
    const accented = jwt.sign(claims({ iss: 'https://auth.example', aud: 'api' }), ec.privateKey, {
      algorithm: 'ES256',
      header: { alg: 'ES256', typ: 'at+jwt', kid: 'clé' },
    });
    expect(await failure(verifier.verify(accented))).toMatchObject({ reason: 'unknown_key' });
  });

  describe('a JWKS host that misbehaves: 503 with no cached keys, never a crash nor a wait past the deadline', () => {
    const cases: [string, JwksHost['answer']][] = [
      ['a body over the size limit, by Content-Length', json({ keys: [], pad: 'x'.repeat(70_000) })],
      [
        'a body over the size limit, chunked without a length',
        (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          for (let i = 0; i < 80; i += 1) res.write('x'.repeat(1024));
          res.end();
        },
      ],
      ['malformed JSON', (_req, res) => void res.writeHead(200).end('{"keys": [')],
      ['JSON that is not a key set', json([{ kid: 'ec-new' }])],
      ['an error status', (_req, res) => void res.writeHead(500).end('{}')],
      ['a redirect', (_req, res) => void res.writeHead(302, { Location: 'https://evil.example/jwks.json' }).end()],
      ['no answer at all', () => undefined],
    ];
    it.each(cases)('%s', async (_name, answer) => {
      host.answer = answer;
      const started = Date.now();
      const verifier = verifierOf({ jwksUri: host.url, jwksTimeoutMs: 300 });
      expect(await failure(verifier.verify(token()))).toEqual({ code: 'store_unavailable', reason: undefined });
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('uses no key of a kind it must not: secrets, other uses or operations, unfit or unpinnable keys', async () => {
      const rsaJwk = rsa.publicKey.export({ format: 'jwk' });
      host.answer = json({
        keys: [
          { kty: 'oct', k: Buffer.from(SECRET).toString('base64url'), kid: 'oct', alg: 'HS256' },
          { ...ec.publicKey.export({ format: 'jwk' }), kid: 'enc', alg: 'ES256', use: 'enc' },
          // The first key of a kid decides: a usable one later under the same kid does not stand in.
          { ...ec.publicKey.export({ format: 'jwk' }), kid: 'enc', alg: 'ES256' },
          { ...ec.publicKey.export({ format: 'jwk' }), kid: 'encrypt-only', alg: 'ES256', key_ops: ['encrypt'] },
          { ...ec.publicKey.export({ format: 'jwk' }), kid: 'bad-ops', alg: 'ES256', key_ops: 'verify' },
          { ...ec.publicKey.export({ format: 'jwk' }), kid: 'verify-op', alg: 'ES256', key_ops: ['verify'] },
          { ...ec.publicKey.export({ format: 'jwk' }), kid: 'wrong-alg', alg: 'ES384' },
          { ...generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }), kid: 'small', alg: 'RS256' },
          { ...rsaJwk, kid: 'rsa-no-alg' },
          { ...ec.publicKey.export({ format: 'jwk' }) },
          'not a key',
          { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ok', alg: 'ES256' },
        ],
      });
      const verifier = verifierOf({ jwksUri: host.url, jwksCooldown: '1h' });
      const as = (kid: string) =>
        signWith({ keys: [{ kid, privateKey: ec.privateKey, algorithm: 'ES256' }], issuer: 'https://auth.example', audience: 'api' });
      expect((await verifier.verify(as('ok'))).userId).toBe('u-alice');
      expect((await verifier.verify(as('verify-op'))).userId).toBe('u-alice');
      for (const kid of ['enc', 'encrypt-only', 'bad-ops', 'wrong-alg', 'oct', 'small'])
        expect(await failure(verifier.verify(as(kid)))).toMatchObject({ reason: 'unknown_key' });
      // The secret of the oct key never verifies: an HS256 token under its kid names no key.
      expect(
        await failure(
          verifier.verify(hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: 'oct' }, claims({ iss: 'https://auth.example', aud: 'api' }))),
        ),
      ).toMatchObject({ reason: 'unknown_key' });
      expect(host.requests).toBe(1);
    });

    it('pins a JWK without alg by its curve, or by the one RSA algorithm allowed', async () => {
      const { alg: _ignored, ...ecNoAlg } = { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec', alg: undefined };
      host.answer = json({ keys: [ecNoAlg, { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa' }] });
      const verifier = verifierOf({ jwksUri: host.url, algorithms: ['ES256', 'PS256'] });
      expect(
        (
          await verifier.verify(
            signWith({
              keys: [{ kid: 'ec', privateKey: ec.privateKey, algorithm: 'ES256' }],
              issuer: 'https://auth.example',
              audience: 'api',
            }),
          )
        ).userId,
      ).toBe('u-alice');
      const ps = signWith({
        keys: [{ kid: 'rsa', privateKey: rsa.privateKey, algorithm: 'PS256' }],
        issuer: 'https://auth.example',
        audience: 'api',
      });
      expect((await verifier.verify(ps)).userId).toBe('u-alice');
      const rs = signWith({
        keys: [{ kid: 'rsa', privateKey: rsa.privateKey, algorithm: 'RS256' }],
        issuer: 'https://auth.example',
        audience: 'api',
      });
      expect(await failure(verifier.verify(rs))).toMatchObject({ reason: 'wrong_algorithm' });
    });
  });

  it('ignores a private member a JWKS leaks: the key verifies, as a public key', async () => {
    host.answer = json({
      keys: [
        {
          ...createPrivateKey(ec.privateKey.export({ type: 'pkcs8', format: 'pem' })).export({ format: 'jwk' }),
          kid: 'ec-new',
          alg: 'ES256',
        },
      ],
    });
    expect((await verifierOf({ jwksUri: host.url }).verify(token())).userId).toBe('u-alice');
  });

  it('agrees with jsonwebtoken on a token it signs with the same claims and typ', async () => {
    const verifier = verifierOf({ jwksUri: host.url });
    const signed = jwt.sign(claims({ iss: 'https://auth.example', aud: 'api' }), ec.privateKey, {
      algorithm: 'ES256',
      header: { alg: 'ES256', typ: 'at+jwt', kid: 'ec-new' },
    });
    expect((await verifier.verify(signed)).userId).toBe('u-alice');
  });
});

describe('EdDSA (Ed25519), with Node crypto', () => {
  const ed = generateKeyPairSync('ed25519');
  const set: AccessTokenOptions = {
    keys: [
      { kid: 'ed', privateKey: ed.privateKey, algorithm: 'EdDSA' },
      { kid: 'hmac', secret: SECRET },
    ],
  };
  const tokens = tokensOf(set);
  const token = tokens.sign(user, 'family-1', signIn, NOW).token;
  const edToken = (header: Record<string, unknown>, payload: unknown, key = ed.privateKey) => {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${cryptoSign(null, Buffer.from(input), key).toString('base64url')}`;
  };

  it('signs and verifies, the key pinned to EdDSA, its public key published as an OKP JWK', async () => {
    expect(headerOf(token)).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' });
    expect(tokens.verify(token, NOW)).toMatchObject({ sub: 'u-alice', sid: 'family-1', roles: ['admin'], amr: ['pwd'] });
    const store = new MemoryTokenStore();
    expect(createAuth({ accessToken: set, store }).jwks()).toEqual({
      keys: [{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: 'ed', alg: 'EdDSA', use: 'sig' }],
    });
    await store.close();
    // The one-key options take it too.
    const one = tokensOf({ algorithm: 'EdDSA', privateKey: ed.privateKey });
    expect(one.verify(one.sign(user, 'family-1', signIn, NOW).token, NOW).sub).toBe('u-alice');
  });

  it('refuses a key that is not Ed25519', () => {
    expect(optionOf(() => tokensOf({ keys: [{ kid: 'ed', privateKey: ec.privateKey, algorithm: 'EdDSA' }] }))).toBe(
      'accessToken.keys[0].privateKey',
    );
    expect(optionOf(() => tokensOf({ algorithm: 'ES256', privateKey: ed.privateKey }))).toBe('accessToken.privateKey');
  });

  it('refuses a wrong, altered or non-canonical signature', () => {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const other = edToken(
      headerOf(token),
      JSON.parse(Buffer.from(payload, 'base64url').toString()),
      generateKeyPairSync('ed25519').privateKey,
    );
    expect(refusal(() => tokens.verify(other, NOW))).toBe('bad_signature');
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    expect(refusal(() => tokens.verify(`${header}.${payload}.${flipped}`, NOW))).toBe('bad_signature');
    // 86 characters hold 516 bits for 512: the last one has unused bits; another spelling of the same bytes fails.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = signature.slice(0, -1) + alphabet[alphabet.indexOf(signature.at(-1)!) ^ 1]!;
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
    expect(refusal(() => tokens.verify(`${header}.${payload}.${respelled}`, NOW))).toBe('bad_signature');
    expect(refusal(() => tokens.verify(`${header}.${payload}.${signature}==`, NOW))).toBe('malformed');
    expect(refusal(() => tokens.verify(`${header}.${payload}.${signature}AAAA`, NOW))).toBe('bad_signature');
    expect(refusal(() => tokens.verify(`${header}.${payload}.`, NOW))).toBe('bad_signature');
  });

  it('keeps the algorithm pinned and the header and claim rules, as for every key', () => {
    const edPem = ed.publicKey.export({ type: 'spki', format: 'pem' });
    expect(refusal(() => tokens.verify(hmacToken({ alg: 'HS256', typ: 'at+jwt', kid: 'ed' }, claims(), edPem), NOW))).toBe(
      'wrong_algorithm',
    );
    expect(refusal(() => tokens.verify(edToken({ alg: 'EdDSA', typ: 'at+jwt', kid: 'hmac' }, claims()), NOW))).toBe('wrong_algorithm');
    expect(refusal(() => tokens.verify(edToken({ alg: 'EdDSA', typ: 'JWT', kid: 'ed' }, claims()), NOW))).toBe('wrong_type');
    expect(refusal(() => tokens.verify(edToken({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed', crit: ['x'] }, claims()), NOW))).toBe(
      'unsupported_header',
    );
    expect(refusal(() => tokens.verify(token, NOW + 901_000 + 5_000))).toBe('expired');
    expect(refusal(() => tokens.verify(edToken({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }, claims({ nbf: NOW / 1000 + 60 })), NOW))).toBe(
      'not_yet_valid',
    );
    expect(refusal(() => tokens.verify(edToken({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }, claims({ sub: 7 })), NOW))).toBe('bad_claims');
    expect(refusal(() => tokens.verify(edToken({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }, claims({ iat: NOW / 1000 - 3600 })), NOW))).toBe(
      'too_old',
    );
    const withClaims = tokensOf({ ...set, issuer: 'https://auth.example', audience: 'api' } as AccessTokenOptions);
    expect(
      refusal(() =>
        withClaims.verify(edToken({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }, claims({ iss: 'https://auth.example', aud: 'other' })), NOW),
      ),
    ).toBe('wrong_audience');
    expect(
      refusal(() =>
        withClaims.verify(edToken({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }, claims({ iss: 'https://evil.example', aud: 'api' })), NOW),
      ),
    ).toBe('wrong_issuer');
    expect(edToken({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }, claims())).toMatch(/^[\w-]+\.[\w-]+\.[\w-]{86}$/);
  });

  it('interoperates with jose both ways, and through a JWKS that names no alg', async () => {
    const store = new MemoryTokenStore();
    const jwks = createAuth({ accessToken: set, store }).jwks();
    await store.close();
    const { payload } = await jose.jwtVerify(token, jose.createLocalJWKSet(jwks), {
      typ: 'at+jwt',
      algorithms: ['EdDSA'],
      currentDate: new Date(NOW),
    });
    expect(payload.sub).toBe('u-alice');
    const signed = await new jose.SignJWT({ sid: 'family-1', jti: 'j-jose' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' })
      .setSubject('u-jose')
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 900)
      .sign(ed.privateKey);
    expect(tokens.verify(signed, NOW).sub).toBe('u-jose');
    const { alg: _alg, ...noAlg } = jwks.keys[0]!;
    const host = await startJwksHost(json({ keys: [noAlg] }));
    try {
      expect((await createAccessTokenVerifier({ jwksUri: host.url, now: () => NOW }).verify(signed)).userId).toBe('u-jose');
      await expect(
        createAccessTokenVerifier({ jwksUri: host.url, algorithms: ['ES256'], now: () => NOW }).verify(signed),
      ).rejects.toMatchObject({ reason: 'unknown_key' });
    } finally {
      await host.close();
    }
  });
});
