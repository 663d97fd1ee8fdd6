/*
 * The HS256/384/512 verification path of AccessTokens (no jsonwebtoken on the way in) and the
 * verified-token cache of requireAccessToken: every token is judged by the fast path, by the
 * fast path with its cache, and by the jsonwebtoken-based verification it replaced, and all three
 * must agree, with the outcome each case states. HTTP-level attacks are in test/http/access-token.test.ts.
 */
import { createHmac, createSecretKey, generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { InvalidTokenError } from '../../src/errors.js';
import { resolveAccessTokenOptions } from '../../src/config/access-token.js';
import { AccessTokens, VERIFIED_TOKEN_ADMIT_ONE_IN, VERIFIED_TOKEN_CACHE_SIZE, type AccessClaims } from '../../src/tokens/access-token.js';
import type { AccessTokenOptions } from '../../src/types.js';

/** AccessTokens from options as a user gives them, resolved as createAuth resolves them. */
function accessTokens(options: AccessTokenOptions, purpose: 'sign' | 'verify', extra?: { cacheVerified: boolean }): AccessTokens {
  return new AccessTokens(resolveAccessTokenOptions(options, purpose, 'accessToken'), extra);
}

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';
const NOW = Date.UTC(2026, 0, 1);
const NOW_S = NOW / 1000;
const LIFETIME_S = 900;
const TOLERANCE_S = 5;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const json = (value: unknown) => JSON.stringify(value);

/** A JWS built by hand from raw header and payload text, so whitespace and key order are ours to choose. */
function forge(header: string, payload: string, { key = SECRET, hash = 'sha256' }: { key?: string | Buffer; hash?: string } = {}): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

/** Signs a given header segment and payload segment as they are (non-canonical ones included). */
function signSegments(headerSegment: string, payloadSegment: string, hash = 'sha256'): string {
  const input = `${headerSegment}.${payloadSegment}`;
  return `${input}.${createHmac(hash, SECRET).update(input).digest('base64url')}`;
}

const claims = (extra: Record<string, unknown> = {}) => ({
  sub: 'u-alice',
  sid: 'family-1',
  jti: 'j-1',
  iat: NOW_S,
  exp: NOW_S + LIFETIME_S,
  ...extra,
});
const HEADER = json({ alg: 'HS256', typ: 'at+jwt' });
const good = (extra: Record<string, unknown> = {}) => forge(HEADER, json(claims(extra)));

/** The reason of a refusal, which operators see and clients never do; fails the test when `verify` passes. */
function reasonOf(verify: () => unknown): InvalidTokenError['reason'] {
  try {
    verify();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as InvalidTokenError).toJSON()).not.toHaveProperty('reason');
    return (error as InvalidTokenError).reason;
  }
  throw new Error('expected a refusal');
}

/** Another base64url spelling of the same bytes: the lowest (unused) bit of the last character flipped. */
function withTrailingBits(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  if ((segment.length * 6) % 8 === 0) throw new Error('this segment has no unused bits');
  const spelled = segment.slice(0, -1) + alphabet[alphabet.indexOf(segment.at(-1)!) ^ 1]!;
  expect(Buffer.from(spelled, 'base64url').equals(Buffer.from(segment, 'base64url'))).toBe(true);
  return spelled;
}

/** A payload segment whose length leaves unused bits in its last character. */
function payloadWithUnusedBits(): string {
  for (const x of ['', 'a', 'aa']) {
    const segment = b64(json(claims({ x })));
    if ((segment.length * 6) % 8 !== 0) return segment;
  }
  throw new Error('unreachable');
}

/**
 * The verification that the fast path replaced, as it was: jsonwebtoken, then the same checks
 * (typ, object payload, numeric exp and iat within bounds, ids, roles, scope).
 */
function referenceVerify(token: string, options: { algorithm?: string; issuer?: string; audience?: string } = {}): AccessClaims {
  const algorithm = options.algorithm ?? 'HS256';
  const decoded = jwt.verify(token, createSecretKey(Buffer.from(SECRET)), {
    algorithms: [algorithm as jwt.Algorithm],
    complete: true,
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: TOLERANCE_S,
    clockTimestamp: NOW_S,
  });
  const typ = typeof decoded.header.typ === 'string' ? decoded.header.typ.toLowerCase() : undefined;
  if (typ !== 'at+jwt' && typ !== 'application/at+jwt') throw new Error('typ');
  const payload = decoded.payload as Record<string, unknown>;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new Error('payload');
  const { sub, sid, jti, iat, exp, roles, scope, auth_time: authTime, amr } = payload;
  if (typeof exp !== 'number' || typeof iat !== 'number') throw new Error('exp, iat');
  if (iat > NOW_S + TOLERANCE_S || NOW_S - iat > LIFETIME_S + TOLERANCE_S) throw new Error('iat');
  const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 256;
  if (!isId(sub) || !isId(sid) || !isId(jti)) throw new Error('ids');
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((role) => typeof role === 'string'))) throw new Error('roles');
  if (scope !== undefined && typeof scope !== 'string') throw new Error('scope');
  if (authTime !== undefined && (typeof authTime !== 'number' || authTime > NOW_S + TOLERANCE_S)) throw new Error('auth_time');
  if (amr !== undefined && !(Array.isArray(amr) && amr.every((method) => typeof method === 'string'))) throw new Error('amr');
  return {
    sub,
    sid,
    jti,
    iat,
    exp,
    roles: (roles as string[]) ?? [],
    scopes: scope ? scope.split(' ').filter(Boolean) : [],
    ...(authTime === undefined ? {} : { authTime: authTime as number }),
    amr: (amr as string[]) ?? [],
    claims: payload,
  };
}

type Outcome = { ok: true; claims: AccessClaims } | { ok: false };
const outcome = (verify: () => AccessClaims): Outcome => {
  try {
    return { ok: true, claims: verify() };
  } catch (error) {
    if (error instanceof InvalidTokenError || error instanceof Error) return { ok: false };
    throw error;
  }
};

function judge(token: string, options: { algorithm?: string; issuer?: string; audience?: string } = {}) {
  const keyOptions = {
    secret: SECRET,
    algorithm: options.algorithm as 'HS256' | undefined,
    issuer: options.issuer,
    audience: options.audience,
  };
  const fast = accessTokens(keyOptions, 'verify');
  const cached = accessTokens(keyOptions, 'verify', { cacheVerified: true });
  return {
    reference: outcome(() => referenceVerify(token, options)),
    fast: outcome(() => fast.verify(token, NOW)),
    // Twice: the second answer comes from the cache when the first was a success.
    cachedFirst: outcome(() => cached.verify(token, NOW)),
    cachedAgain: outcome(() => cached.verify(token, NOW)),
  };
}

function expectAllAgree(token: string, accepted: boolean, options?: { algorithm?: string; issuer?: string; audience?: string }) {
  const { reference, fast, cachedFirst, cachedAgain } = judge(token, options);
  expect({ reference: reference.ok, fast: fast.ok, cachedFirst: cachedFirst.ok, cachedAgain: cachedAgain.ok }).toEqual({
    reference: accepted,
    fast: accepted,
    cachedFirst: accepted,
    cachedAgain: accepted,
  });
  if (reference.ok && fast.ok && cachedFirst.ok && cachedAgain.ok) {
    expect(fast.claims).toEqual(reference.claims);
    expect(cachedFirst.claims).toEqual(reference.claims);
    expect(cachedAgain.claims).toEqual(reference.claims);
  }
}

describe('AccessTokens HMAC verification (the fast path)', () => {
  describe('accepts, as jsonwebtoken did', () => {
    it.each<[string, () => string]>([
      [
        'a token it signed',
        () =>
          accessTokens({ secret: SECRET }, 'sign').sign(
            { id: 'u-alice', roles: ['admin'], scopes: ['read', 'write'] },
            'family-1',
            { authTime: NOW, amr: ['pwd'] },
            NOW,
          ).token,
      ],
      ['the hand-made control token', () => good()],
      ['a header with extra whitespace', () => forge('{ "alg" : "HS256" ,\n "typ":"at+jwt" }', json(claims()))],
      ['a header with its keys reordered', () => forge(json({ typ: 'at+jwt', alg: 'HS256' }), json(claims()))],
      [
        'a header with parameters that are ignored (kid, jku)',
        () => forge(json({ alg: 'HS256', typ: 'at+jwt', kid: 'k1', jku: 'https://evil.example.com/keys' }), json(claims())),
      ],
      [
        'a header whose duplicate alg ends on the right value (JSON.parse keeps the last)',
        () => forge('{"alg":"none","alg":"HS256","typ":"at+jwt"}', json(claims())),
      ],
      ['a header with escaped characters', () => forge('{"alg":"\\u0048S256","typ":"at\\u002bjwt"}', json(claims()))],
      [
        'a header with non-ASCII text in an ignored parameter',
        () => forge(json({ alg: 'HS256', typ: 'at+jwt', kid: 'clé' }), json(claims())),
      ],
      ['typ application/at+jwt', () => forge(json({ alg: 'HS256', typ: 'application/at+jwt' }), json(claims()))],
      ['typ AT+JWT', () => forge(json({ alg: 'HS256', typ: 'AT+JWT' }), json(claims()))],
      ['a payload with extra whitespace', () => forge(HEADER, JSON.stringify(claims(), null, 2))],
      [
        'a payload whose base64url spelling has trailing bits, as signed',
        () => signSegments(b64(HEADER), withTrailingBits(payloadWithUnusedBits())),
      ],
      ['a payload with a duplicate claim (the last one counts)', () => forge(HEADER, `{"sub":"u-mallory",${json(claims()).slice(1)}`)],
      ['an exp just inside the clock tolerance', () => good({ exp: NOW_S - TOLERANCE_S + 1 })],
      ['an nbf within the clock tolerance', () => good({ nbf: NOW_S + TOLERANCE_S })],
      ['nested custom claims', () => good({ org: { id: 'o1', teams: ['a'] } })],
      ['roles and scope', () => good({ roles: ['admin'], scope: 'read write' })],
      ['auth_time and amr', () => good({ auth_time: NOW_S - 3600, amr: ['pwd', 'otp'] })],
    ])('%s', (_name, make) => {
      expectAllAgree(make(), true);
    });
  });

  describe('refuses, as jsonwebtoken did', () => {
    const control = () => good();
    it.each<[string, () => string]>([
      ['an empty string', () => ''],
      ['garbage', () => 'garbage'],
      ['two segments', () => control().split('.').slice(0, 2).join('.')],
      ['four segments', () => `${control()}.${control().split('.')[2]}`],
      ['an empty header segment', () => `.${control().split('.').slice(1).join('.')}`],
      ['an empty payload segment', () => signSegments(b64(HEADER), '')],
      ['an empty signature (alg none style)', () => `${b64(json({ alg: 'none', typ: 'at+jwt' }))}.${b64(json(claims()))}.`],
      ['alg none, signed', () => forge(json({ alg: 'none', typ: 'at+jwt' }), json(claims()))],
      ['alg hs256 (letter case)', () => forge(json({ alg: 'hs256', typ: 'at+jwt' }), json(claims()))],
      ['alg HS384 with the same secret', () => forge(json({ alg: 'HS384', typ: 'at+jwt' }), json(claims()), { hash: 'sha384' })],
      ['alg HS256 with a space in it', () => forge(json({ alg: 'HS256 ', typ: 'at+jwt' }), json(claims()))],
      ['a header whose duplicate alg ends on a wrong value', () => forge('{"alg":"HS256","alg":"none","typ":"at+jwt"}', json(claims()))],
      ['a header whose duplicate typ ends on a wrong value', () => forge('{"alg":"HS256","typ":"at+jwt","typ":"JWT"}', json(claims()))],
      ['typ JWT', () => forge(json({ alg: 'HS256', typ: 'JWT' }), json(claims()))],
      ['no typ', () => forge(json({ alg: 'HS256' }), json(claims()))],
      ['a typ that is not a string', () => forge(json({ alg: 'HS256', typ: ['at+jwt'] }), json(claims()))],
      ['a header that is not JSON', () => forge('{alg:HS256}', json(claims()))],
      ['a header that is a JSON array', () => forge(json(['HS256']), json(claims()))],
      ['a header that is null', () => forge('null', json(claims()))],
      ['a header that is a string', () => forge(json('HS256'), json(claims()))],
      ['a wrong secret', () => forge(HEADER, json(claims()), { key: 'another-secret-of-at-least-32-bytes!!' })],
      [
        'a signature with trailing bits set (another spelling of the same bytes)',
        () => {
          const [header, payload, signature] = control().split('.') as [string, string, string];
          return `${header}.${payload}.${withTrailingBits(signature)}`;
        },
      ],
      ['a signature with base64 padding', () => `${control()}=`],
      [
        'a signature in the standard base64 alphabet',
        () => {
          const [header, payload, signature] = control().split('.') as [string, string, string];
          return `${header}.${payload}.${Buffer.from(signature, 'base64url').toString('base64')}`;
        },
      ],
      ['a signature one character short', () => control().slice(0, -1)],
      ['a signature one character long', () => `${control()}A`],
      ['a header segment with padding', () => `${b64(HEADER)}=.${control().split('.').slice(1).join('.')}`],
      [
        'a payload segment in the standard alphabet, as signed',
        () =>
          signSegments(
            b64(HEADER),
            Buffer.from(json(claims({ x: '>>>???' })))
              .toString('base64')
              .replace(/=+$/, ''),
          ),
      ],
      ['whitespace around the token', () => ` ${control()}`],
      [
        'a tampered payload',
        () => {
          const [header, , signature] = control().split('.') as [string, string, string];
          return `${header}.${b64(json(claims({ sub: 'u-bob' })))}.${signature}`;
        },
      ],
      ['a payload that is not JSON', () => forge(HEADER, '{"sub":')],
      ['a payload with a byte-order mark', () => forge(HEADER, `\uFEFF${json(claims())}`)],
      ['a payload that is null', () => forge(HEADER, 'null')],
      ['a payload that is an array', () => forge(HEADER, json([claims()]))],
      ['a payload that is a string', () => forge(HEADER, json('hello'))],
      ['a payload that is a number', () => forge(HEADER, '42')],
      ['an expired token', () => good({ exp: NOW_S - TOLERANCE_S })],
      ['an exp that is a string', () => good({ exp: String(NOW_S + 60) })],
      ['no exp', () => good({ exp: undefined })],
      ['an nbf in the future', () => good({ nbf: NOW_S + TOLERANCE_S + 1 })],
      ['an nbf that is a string', () => good({ nbf: String(NOW_S) })],
      ['an iat in the future', () => good({ iat: NOW_S + TOLERANCE_S + 1 })],
      ['an iat older than the lifetime', () => good({ iat: NOW_S - LIFETIME_S - TOLERANCE_S - 1 })],
      ['an iat that is a string', () => good({ iat: String(NOW_S) })],
      ['a sub of 257 characters', () => good({ sub: 'x'.repeat(257) })],
      ['roles that are not strings', () => good({ roles: [1] })],
      ['a scope that is not a string', () => good({ scope: ['read'] })],
      ['an auth_time that is a string', () => good({ auth_time: String(NOW_S) })],
      ['an auth_time in the future', () => good({ auth_time: NOW_S + TOLERANCE_S + 1 })],
      ['an amr that is not a list of strings', () => good({ amr: 'pwd' })],
      ['a JWS JSON serialisation', () => JSON.stringify({ payload: b64(json(claims())), signatures: [] })],
    ])('%s', (_name, make) => {
      expectAllAgree(make(), false);
    });
  });

  describe('with issuer and audience', () => {
    const options = { issuer: 'https://api.example.com', audience: 'web' };
    it.each<[string, Record<string, unknown>, boolean]>([
      ['both right', { iss: 'https://api.example.com', aud: 'web' }, true],
      ['an audience array that holds it', { iss: 'https://api.example.com', aud: ['admin', 'web'] }, true],
      ['an audience array without it', { iss: 'https://api.example.com', aud: ['admin'] }, false],
      ['another audience', { iss: 'https://api.example.com', aud: 'admin' }, false],
      ['no audience', { iss: 'https://api.example.com' }, false],
      ['another issuer', { iss: 'https://evil.example.com', aud: 'web' }, false],
      ['an issuer array', { iss: ['https://api.example.com'], aud: 'web' }, false],
      ['no issuer', { aud: 'web' }, false],
    ])('%s', (_name, extra, accepted) => {
      expectAllAgree(good(extra), accepted, options);
    });
  });

  describe.each([
    ['HS384', 'sha384'],
    ['HS512', 'sha512'],
  ])('configured for %s', (algorithm, hash) => {
    it('accepts its own tokens and refuses HS256 ones', () => {
      const signer = accessTokens({ secret: SECRET, algorithm: algorithm as 'HS384' }, 'sign');
      expectAllAgree(signer.sign({ id: 'u-alice' }, 'family-1', { authTime: NOW, amr: [] }, NOW).token, true, { algorithm });
      expectAllAgree(forge(json({ alg: algorithm, typ: 'at+jwt' }), json(claims()), { hash }), true, { algorithm });
      expectAllAgree(good(), false, { algorithm });
      expectAllAgree(forge(json({ alg: algorithm, typ: 'at+jwt' }), json(claims())), false, { algorithm });
    });
  });
});

describe('AccessTokens verified-token cache', () => {
  const cachedVerifier = () => accessTokens({ secret: SECRET }, 'verify', { cacheVerified: true });
  const entries = (tokens: AccessTokens) => (tokens as unknown as { verified: Map<string, { token: string }> }).verified;
  /** Whether the cache holds `token`: kept under its signature segment, with the whole token to compare. */
  const isKept = (tokens: AccessTokens, token: string) => entries(tokens).get(token.split('.')[2]!)?.token === token;

  it('keeps a verified token and gives every caller its own copy of the claims', () => {
    const tokens = cachedVerifier();
    const token = good({ roles: ['user'], scope: 'read', tags: ['a', 'b'] });
    const first = tokens.verify(token, NOW);
    expect(isKept(tokens, token)).toBe(true);
    first.roles.push('admin');
    first.scopes.push('write');
    first.claims.sub = 'u-mallory';
    (first.claims.tags as string[]).push('c');
    const second = tokens.verify(token, NOW);
    expect(second).toEqual(referenceVerify(token));
    expect(second.roles).toEqual(['user']);
    expect(second.claims).not.toBe(first.claims);
    expect(second.roles).toBe(second.claims.roles);
  });

  it('verifies in full a token that only shares the signature segment of a kept one', () => {
    const tokens = cachedVerifier();
    const token = good({ roles: ['user'] });
    tokens.verify(token, NOW);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const refusal = (candidate: string) => reasonOf(() => tokens.verify(candidate, NOW));
    expect(refusal(`${header}.${b64(json(claims({ roles: ['admin'] })))}.${signature}`)).toBe('bad_signature');
    // The same length as the kept token: one character of the payload changed.
    const sameLength = `${header}.${b64(json(claims({ roles: ['usex'] })))}.${signature}`;
    expect(sameLength.length).toBe(token.length);
    expect(refusal(sameLength)).toBe('bad_signature');
    expect(refusal(`${b64(json({ alg: 'HS256', typ: 'at+jwt', kid: 'x' }))}.${payload}.${signature}`)).toBe('bad_signature');
    expect(refusal(`x.${token}`)).toBe('malformed');
    expect(refusal(signature)).toBe('malformed');
    expect(tokens.verify(token, NOW).roles).toEqual(['user']);
  });

  it('refuses a token that is not a string as malformed, as without the cache (JavaScript callers)', () => {
    const tokens = cachedVerifier();
    for (const notAString of [undefined, null, 42, {}, ['a.b.c']]) {
      expect(() => tokens.verify(notAString as unknown as string, NOW)).toThrow(
        expect.objectContaining({ name: 'InvalidTokenError', reason: 'malformed' }),
      );
    }
  });

  it('does not keep tokens with nested claims, which a copy could not separate', () => {
    const tokens = cachedVerifier();
    const token = good({ org: { id: 'o1' } });
    const first = tokens.verify(token, NOW);
    expect(isKept(tokens, token)).toBe(false);
    (first.claims.org as { id: string }).id = 'o2';
    expect(tokens.verify(token, NOW).claims.org).toEqual({ id: 'o1' });
  });

  it('checks exp, nbf and iat again on every use, and drops the token once they fail', () => {
    const tokens = cachedVerifier();
    const token = good({ nbf: NOW_S });
    tokens.verify(token, NOW);
    // Still good just before exp + tolerance; expired from then on.
    expect(tokens.verify(token, (NOW_S + LIFETIME_S + TOLERANCE_S - 1) * 1000).sub).toBe('u-alice');
    expect(() => tokens.verify(token, (NOW_S + LIFETIME_S + TOLERANCE_S) * 1000)).toThrow('The access token has expired.');
    expect(isKept(tokens, token)).toBe(false);
  });

  it('refuses a kept token whose iat grew older than the lifetime (exp far away)', () => {
    const tokens = cachedVerifier();
    const token = good({ exp: NOW_S + 100 * LIFETIME_S });
    tokens.verify(token, NOW);
    expect(() => tokens.verify(token, (NOW_S + LIFETIME_S + TOLERANCE_S + 1) * 1000)).toThrow(InvalidTokenError);
    expect(isKept(tokens, token)).toBe(false);
  });

  it('refuses a kept token when the clock goes back before its iat or nbf', () => {
    const tokens = cachedVerifier();
    const token = good({ nbf: NOW_S });
    tokens.verify(token, NOW);
    expect(() => tokens.verify(token, (NOW_S - TOLERANCE_S - 1) * 1000)).toThrow(InvalidTokenError);
  });

  it(`holds at most ${VERIFIED_TOKEN_CACHE_SIZE} tokens; once full, keeps one new token in ${VERIFIED_TOKEN_ADMIT_ONE_IN}, dropping the oldest`, () => {
    const tokens = cachedVerifier();
    const first = good({ jti: 'j-first' });
    const second = good({ jti: 'j-second' });
    tokens.verify(first, NOW);
    tokens.verify(second, NOW);
    for (let i = 2; i < VERIFIED_TOKEN_CACHE_SIZE; i++) tokens.verify(good({ jti: `j-${i}` }), NOW);
    expect(entries(tokens).size).toBe(VERIFIED_TOKEN_CACHE_SIZE);
    const newcomers = Array.from({ length: VERIFIED_TOKEN_ADMIT_ONE_IN }, (_, i) => good({ jti: `j-new-${i}` }));
    const claims = newcomers.map((token) => tokens.verify(token, NOW));
    expect(claims.map((claim) => claim.jti)).toEqual(newcomers.map((_, i) => `j-new-${i}`));
    expect(newcomers.map((token) => isKept(tokens, token))).toEqual([...Array(VERIFIED_TOKEN_ADMIT_ONE_IN - 1).fill(false), true]);
    expect(entries(tokens).size).toBe(VERIFIED_TOKEN_CACHE_SIZE);
    expect(isKept(tokens, first)).toBe(false);
    expect(isKept(tokens, second)).toBe(true);
    // Not kept is only slower: the token is verified in full again, with the same answer.
    expect(tokens.verify(first, NOW).jti).toBe('j-first');
    expect(tokens.verify(newcomers[0]!, NOW).jti).toBe('j-new-0');
    // The one kept while full is kept as any other: its first caller's claims are a copy.
    claims.at(-1)!.claims.sub = 'u-mallory';
    expect(tokens.verify(newcomers.at(-1)!, NOW).sub).toBe('u-alice');
  });

  it(`makes room by dropping kept tokens that have expired, before keeping only one new token in ${VERIFIED_TOKEN_ADMIT_ONE_IN}`, () => {
    const tokens = cachedVerifier();
    for (let i = 0; i < VERIFIED_TOKEN_CACHE_SIZE; i++) tokens.verify(good({ jti: `j-${i}` }), NOW);
    // Every kept token has expired by now; clients refreshed and present only new ones.
    const laterS = NOW_S + LIFETIME_S + TOLERANCE_S;
    const fresh = Array.from({ length: VERIFIED_TOKEN_ADMIT_ONE_IN }, (_, i) =>
      good({ jti: `j-fresh-${i}`, iat: laterS, exp: laterS + LIFETIME_S }),
    );
    for (const token of fresh) tokens.verify(token, laterS * 1000);
    expect(fresh.map((token) => isKept(tokens, token))).toEqual(Array(VERIFIED_TOKEN_ADMIT_ONE_IN).fill(true));
    expect(entries(tokens).size).toBe(VERIFIED_TOKEN_ADMIT_ONE_IN);
  });

  it('gives a token it does not keep claims that are its own to change, like a kept one', () => {
    const tokens = cachedVerifier();
    for (let i = 0; i < VERIFIED_TOKEN_CACHE_SIZE; i++) tokens.verify(good({ jti: `j-${i}` }), NOW);
    const token = good({ roles: ['user'] });
    const first = tokens.verify(token, NOW);
    expect(isKept(tokens, token)).toBe(false);
    first.roles.push('admin');
    expect(tokens.verify(token, NOW).roles).toEqual(['user']);
  });

  it('is off unless asked for', () => {
    expect(entries(accessTokens({ secret: SECRET }, 'verify'))).toBeUndefined();
  });

  it('keeps asymmetric tokens too, checked by jsonwebtoken the first time', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const token = accessTokens({ algorithm: 'ES256', privateKey }, 'sign').sign(
      { id: 'u-alice' },
      'family-1',
      { authTime: NOW, amr: [] },
      NOW,
    ).token;
    const tokens = accessTokens({ algorithm: 'ES256', publicKey }, 'verify', { cacheVerified: true });
    const first = tokens.verify(token, NOW);
    expect(isKept(tokens, token)).toBe(true);
    expect(tokens.verify(token, NOW)).toEqual(first);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    expect(() => tokens.verify(`${header}.${payload}.${signature.slice(0, -2)}AA`, NOW)).toThrow(InvalidTokenError);
  });
});

describe('the reason of each refusal, for operators', () => {
  const verifier = accessTokens({ secret: SECRET, issuer: 'https://api.example.com', audience: 'web' }, 'verify');
  const ours = (extra: Record<string, unknown> = {}) => good({ iss: 'https://api.example.com', aud: 'web', ...extra });
  it.each<[string, () => string, string]>([
    ['garbage', () => 'garbage', 'malformed'],
    [
      'a wrong secret',
      () => forge(HEADER, json(claims({ iss: 'https://api.example.com', aud: 'web' })), { key: 'another-secret-of-at-least-32-bytes!!' }),
      'bad_signature',
    ],
    ['alg HS384', () => forge(json({ alg: 'HS384', typ: 'at+jwt' }), json(claims()), { hash: 'sha384' }), 'wrong_algorithm'],
    ['typ JWT', () => forge(json({ alg: 'HS256', typ: 'JWT' }), json(claims())), 'wrong_type'],
    ['an expired token', () => ours({ exp: NOW_S - TOLERANCE_S }), 'expired'],
    ['an nbf in the future', () => ours({ nbf: NOW_S + TOLERANCE_S + 1 }), 'not_yet_valid'],
    ['an iat in the future', () => ours({ iat: NOW_S + TOLERANCE_S + 1 }), 'issued_in_future'],
    ['an iat older than the lifetime', () => ours({ iat: NOW_S - LIFETIME_S - TOLERANCE_S - 1 }), 'too_old'],
    ['another issuer', () => ours({ iss: 'https://evil.example.com' }), 'wrong_issuer'],
    ['another audience', () => ours({ aud: 'admin' }), 'wrong_audience'],
    ['roles that are not strings', () => ours({ roles: [1] }), 'bad_claims'],
  ])('HS256: %s is %s', (_name, make, reason) => {
    expect(reasonOf(() => verifier.verify(make(), NOW))).toBe(reason);
  });

  describe('on the jsonwebtoken path (ES256)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const options = { algorithm: 'ES256', issuer: 'https://api.example.com', audience: 'web' } as const;
    const es256 = accessTokens({ ...options, publicKey }, 'verify');
    const sign = (payload: object, key = privateKey, header: object = { typ: 'at+jwt' }) =>
      jwt.sign({ iss: options.issuer, aud: options.audience, ...claims(), ...payload }, key, {
        algorithm: 'ES256',
        header: { alg: 'ES256', ...header },
      });
    it.each<[string, () => string, string]>([
      ['another key', () => sign({}, other.privateKey), 'bad_signature'],
      ['an expired token', () => sign({ exp: NOW_S - TOLERANCE_S }), 'expired'],
      ['an nbf in the future', () => sign({ nbf: NOW_S + TOLERANCE_S + 1 }), 'not_yet_valid'],
      ['another issuer', () => sign({ iss: 'https://evil.example.com' }), 'wrong_issuer'],
      ['another audience', () => sign({ aud: 'admin' }), 'wrong_audience'],
      ['typ JWT', () => sign({}, privateKey, { typ: 'JWT' }), 'wrong_type'],
      ['an HS256 token', () => ours(), 'wrong_algorithm'],
      ['garbage', () => 'garbage', 'malformed'],
    ])('%s is %s', (_name, make, reason) => {
      expect(reasonOf(() => es256.verify(make(), NOW))).toBe(reason);
    });
  });
});
