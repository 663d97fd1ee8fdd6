import { generateKeyPairSync } from 'node:crypto';
import {
  ConfigurationError,
  createAuth,
  createAuthRouter,
  createCredentialsVerifier,
  hashPassword,
  MemoryTokenStore,
  RedisTokenStore,
  requireAccessToken,
  type AuthOptions,
} from '../../src/index.js';
import { optionError } from '../helpers/options.js';

const SECRET = 's'.repeat(32);
const store = new MemoryTokenStore();
afterAll(() => store.close());
const base: AuthOptions = { accessToken: { secret: SECRET }, store, verifyCredentials: async () => null };

async function asyncOptionError(make: () => Promise<unknown>): Promise<ConfigurationError> {
  try {
    await make();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('start-up validation', () => {
  it('builds createAuth and the router from the documented minimum, verifyCredentials included or not', () => {
    expect(typeof createAuthRouter(base)).toBe('function');
    const auth = createAuth({ accessToken: { secret: SECRET }, store });
    expect(typeof auth.router).toBe('function');
    expect(typeof auth.requireAccessToken()).toBe('function');
  });

  it.each([
    ['a secret under 32 bytes', { accessToken: { secret: 's'.repeat(31) } }, 'accessToken.secret'],
    ['no key at all', { accessToken: {} }, 'accessToken.secret'],
    ['no accessToken', { accessToken: undefined }, 'accessToken'],
    ['an RS algorithm with a secret', { accessToken: { secret: SECRET, algorithm: 'RS256' } }, 'accessToken.algorithm'],
    ['alg none', { accessToken: { secret: SECRET, algorithm: 'none' } }, 'accessToken.algorithm'],
    ['a misspelt access-token option', { accessToken: { secret: SECRET, expiresin: '5m' } }, 'accessToken.expiresin'],
    ['a missing store', { store: undefined }, 'store'],
    ['a store missing RefreshTokenStore methods', { store: { rotate() {} } }, 'store'],
    ['a verifyCredentials that is not a function', { verifyCredentials: 'alice' }, 'verifyCredentials'],
    ['an idleTtl that does not parse', { refreshToken: { idleTtl: 'two weeks' } }, 'refreshToken.idleTtl'],
    ['a negative absoluteTtl', { refreshToken: { absoluteTtl: -1 } }, 'refreshToken.absoluteTtl'],
    ['an idleTtl over ten years', { refreshToken: { idleTtl: '999999999w' } }, 'refreshToken.idleTtl'],
    ['an expiresIn that does not parse', { accessToken: { secret: SECRET, expiresIn: '15 minutes' } }, 'accessToken.expiresIn'],
    ['a fractional reuseGraceSeconds', { refreshToken: { reuseGraceSeconds: 1.5 } }, 'refreshToken.reuseGraceSeconds'],
    ['maxSessionsPerUser 0', { refreshToken: { maxSessionsPerUser: 0 } }, 'refreshToken.maxSessionsPerUser'],
    ['an unknown transport', { refreshToken: { transport: 'header' } }, 'refreshToken.transport'],
    ['a misspelt refreshToken option', { refreshToken: { idleTTL: '1d' } }, 'refreshToken.idleTTL'],
    ['refreshToken that is not an object', { refreshToken: '14d' }, 'refreshToken'],
    ["sameSite 'none' without secure", { refreshToken: { cookie: { sameSite: 'none', secure: false } } }, 'refreshToken.cookie.sameSite'],
    ['a cookie name with a space', { refreshToken: { cookie: { name: 'refresh token' } } }, 'refreshToken.cookie.name'],
    ['a cookie path without a leading slash', { refreshToken: { cookie: { path: 'auth' } } }, 'refreshToken.cookie.path'],
    ['a cookie path with a semicolon', { refreshToken: { cookie: { path: '/auth;Domain=evil.example' } } }, 'refreshToken.cookie.path'],
    [
      'a __Secure- cookie without secure',
      { refreshToken: { cookie: { name: '__Secure-rt', secure: false } } },
      'refreshToken.cookie.secure',
    ],
    ['a __Host- cookie without secure', { refreshToken: { cookie: { name: '__Host-rt', secure: false } } }, 'refreshToken.cookie.secure'],
    [
      'a __Host- cookie with a domain',
      { refreshToken: { cookie: { name: '__Host-rt', domain: 'example.com' } } },
      'refreshToken.cookie.domain',
    ],
    [
      'a __Host- cookie with a path other than /',
      { refreshToken: { cookie: { name: '__Host-rt', path: '/auth' } } },
      'refreshToken.cookie.path',
    ],
    [
      'a __host- cookie in other letter case without secure',
      { refreshToken: { cookie: { name: '__host-rt', secure: false } } },
      'refreshToken.cookie.secure',
    ],
    ["secure: 'yes'", { refreshToken: { cookie: { secure: 'yes' } } }, 'refreshToken.cookie.secure'],
    ['a trusted origin that is not one', { trustedOrigins: ['app.example.com'] }, 'trustedOrigins'],
    ['a trusted origin with a wildcard, which is not supported', { trustedOrigins: ['https://*.example.com'] }, 'trustedOrigins'],
    ['an unknown hook', { hooks: { onLogon() {} } }, 'hooks.onLogon'],
    ['a hook that is not a function', { hooks: { onLogin: true } }, 'hooks.onLogin'],
    ['a storeTimeoutMs of 0', { storeTimeoutMs: 0 }, 'storeTimeoutMs'],
    ['a bodyLimitBytes under 1 KB', { bodyLimitBytes: 10 }, 'bodyLimitBytes'],
    ['a clock that is not a function', { now: 0 }, 'now'],
    ['an option no one knows', { verifyCredential: async () => null }, 'verifyCredential'],
  ])('refuses %s, naming the option', (_name, overrides, option) => {
    for (const make of [createAuth, createAuthRouter]) {
      const error = optionError(() => make({ ...base, ...(overrides as object) } as AuthOptions));
      expect(error.option).toBe(option);
      expect(error.message).toContain(option);
    }
  });

  it('merges a cookie option given as undefined over the default instead of refusing it', () => {
    expect(typeof createAuthRouter({ ...base, refreshToken: { cookie: { secure: undefined, name: undefined } } })).toBe('function');
  });

  it('refuses an RSA key under 2048 bits', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const error = optionError(() => createAuthRouter({ ...base, accessToken: { algorithm: 'RS256', privateKey } }));
    expect(error.option).toBe('accessToken.privateKey');
  });

  it('refuses an EC key on the wrong curve', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(optionError(() => createAuthRouter({ ...base, accessToken: { algorithm: 'ES256', privateKey } })).option).toBe(
      'accessToken.privateKey',
    );
  });

  it('needs a private key to sign and a public key (or private) to verify', () => {
    expect(optionError(() => createAuthRouter({ ...base, accessToken: { algorithm: 'ES256' } })).option).toBe('accessToken.privateKey');
    expect(optionError(() => requireAccessToken({ algorithm: 'ES256' })).option).toBe('requireAccessToken.publicKey');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(typeof requireAccessToken({ algorithm: 'ES256', publicKey })).toBe('function');
  });
});

describe('requireAccessToken options', () => {
  const auth = createAuth(base);

  it.each([
    ['roles: []', { roles: [] }, 'requireAccessToken.roles'],
    ['scopes that are not strings', { scopes: [1] }, 'requireAccessToken.scopes'],
    ["optional: 'yes'", { optional: 'yes' }, 'requireAccessToken.optional'],
    ["revocation: 'always'", { revocation: 'always' }, 'requireAccessToken.revocation'],
    ["errors: 'throw'", { errors: 'throw' }, 'requireAccessToken.errors'],
    ['an option no one knows', { role: 'admin' }, 'requireAccessToken.role'],
    ['key options, which createAuth already has', { secret: SECRET }, 'requireAccessToken.secret'],
  ])('auth.requireAccessToken refuses %s, naming the option', (_name, options, option) => {
    expect(optionError(() => auth.requireAccessToken(options as never)).option).toBe(option);
  });

  it.each([
    ['roles: []', { secret: SECRET, roles: [] }, 'requireAccessToken.roles'],
    ['a short secret', { secret: 'short' }, 'requireAccessToken.secret'],
    ['revocation without a store', { secret: SECRET, revocation: true }, 'requireAccessToken.revocation'],
    ['a store without the contract', { secret: SECRET, store: {} }, 'requireAccessToken.store'],
    ['a storeTimeoutMs over a minute', { secret: SECRET, store, storeTimeoutMs: 60_001 }, 'requireAccessToken.storeTimeoutMs'],
    ['an option no one knows', { secret: SECRET, stores: store }, 'requireAccessToken.stores'],
  ])('the standalone requireAccessToken refuses %s, naming the option', (_name, options, option) => {
    expect(optionError(() => requireAccessToken(options as never)).option).toBe(option);
  });

  it('verifyAccessToken refuses a revocation option that is not a boolean', async () => {
    expect((await asyncOptionError(() => auth.verifyAccessToken('x', { revocation: 'yes' as never }))).option).toBe(
      'verifyAccessToken.revocation',
    );
  });
});

describe('stores and password helpers', () => {
  it.each([
    [
      'MemoryTokenStore with a sweepIntervalMs of 0',
      () => new MemoryTokenStore({ sweepIntervalMs: 0 }),
      'MemoryTokenStore.sweepIntervalMs',
    ],
    ['RedisTokenStore without a client', () => new RedisTokenStore({} as never), 'RedisTokenStore.client'],
    [
      'RedisTokenStore with a keyPrefix holding a brace',
      () => new RedisTokenStore({ client: { defineCommand() {} } as never, keyPrefix: 'a{b' }),
      'RedisTokenStore.keyPrefix',
    ],
    ['createCredentialsVerifier without findUser', () => createCredentialsVerifier({} as never), 'createCredentialsVerifier.findUser'],
    [
      'createCredentialsVerifier with a cost of 9',
      () => createCredentialsVerifier({ findUser: () => null, cost: 9 }),
      'createCredentialsVerifier.cost',
    ],
  ])('refuses %s with a ConfigurationError naming the option', (_name, make, option) => {
    expect(optionError(make).option).toBe(option);
  });

  it('hashPassword refuses a cost below 10 with a ConfigurationError naming it', async () => {
    expect((await asyncOptionError(() => hashPassword('a password', { cost: 9 }))).option).toBe('hashPassword.cost');
  });
});
