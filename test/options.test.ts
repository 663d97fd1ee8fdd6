import { generateKeyPairSync } from 'node:crypto';
import { ConfigurationError, createAuthRouter, MemoryTokenStore, requireAccessToken, type AuthRouterOptions } from '../src/index.js';

const SECRET = 's'.repeat(32);
const store = new MemoryTokenStore();
afterAll(() => store.close());
const base: AuthRouterOptions = { accessToken: { secret: SECRET }, store, verifyCredentials: async () => null };

function optionError(make: () => unknown): ConfigurationError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('start-up validation', () => {
  it('builds a router from the documented minimum', () => {
    expect(typeof createAuthRouter(base)).toBe('function');
  });

  it.each([
    ['a secret under 32 bytes', { accessToken: { secret: 's'.repeat(31) } }, 'accessToken.secret'],
    ['no key at all', { accessToken: {} }, 'accessToken.secret'],
    ['an RS algorithm with a secret', { accessToken: { secret: SECRET, algorithm: 'RS256' } }, 'accessToken.algorithm'],
    ['alg none', { accessToken: { secret: SECRET, algorithm: 'none' } }, 'accessToken.algorithm'],
    ['a missing store', { store: undefined }, 'store'],
    ['a store missing RefreshTokenStore methods', { store: { rotate() {} } }, 'store'],
    ['no verifyCredentials', { verifyCredentials: undefined }, 'verifyCredentials'],
    ['an idleTtl that does not parse', { refreshToken: { idleTtl: 'two weeks' } }, 'refreshToken.idleTtl'],
    ['a negative absoluteTtl', { refreshToken: { absoluteTtl: -1 } }, 'refreshToken.absoluteTtl'],
    ['an idleTtl over ten years', { refreshToken: { idleTtl: '999999999w' } }, 'refreshToken.idleTtl'],
    ['an expiresIn that does not parse', { accessToken: { secret: SECRET, expiresIn: '15 minutes' } }, 'accessToken.expiresIn'],
    ['a fractional reuseGraceSeconds', { refreshToken: { reuseGraceSeconds: 1.5 } }, 'refreshToken.reuseGraceSeconds'],
    ['maxSessionsPerUser 0', { refreshToken: { maxSessionsPerUser: 0 } }, 'refreshToken.maxSessionsPerUser'],
    ['an unknown transport', { refreshToken: { transport: 'header' } }, 'refreshToken.transport'],
    ["sameSite 'none' without secure", { refreshToken: { cookie: { sameSite: 'none', secure: false } } }, 'refreshToken.cookie.sameSite'],
    ['a cookie name with a space', { refreshToken: { cookie: { name: 'refresh token' } } }, 'refreshToken.cookie.name'],
    ['a cookie path without a leading slash', { refreshToken: { cookie: { path: 'auth' } } }, 'refreshToken.cookie.path'],
    ['a cookie path with a semicolon', { refreshToken: { cookie: { path: '/auth;Domain=evil.example' } } }, 'refreshToken.cookie.path'],
    ['a __Secure- cookie without secure', { refreshToken: { cookie: { name: '__Secure-rt', secure: false } } }, 'refreshToken.cookie.secure'],
    ['a __Host- cookie without secure', { refreshToken: { cookie: { name: '__Host-rt', secure: false } } }, 'refreshToken.cookie.secure'],
    ['a __Host- cookie with a domain', { refreshToken: { cookie: { name: '__Host-rt', domain: 'example.com' } } }, 'refreshToken.cookie.domain'],
    ['a __Host- cookie with a path other than /', { refreshToken: { cookie: { name: '__Host-rt', path: '/auth' } } }, 'refreshToken.cookie.path'],
    ['a __host- cookie in other letter case without secure', { refreshToken: { cookie: { name: '__host-rt', secure: false } } }, 'refreshToken.cookie.secure'],
    ['a trusted origin that is not one', { trustedOrigins: ['app.example.com'] }, 'trustedOrigins'],
    ['an unknown hook', { hooks: { onLogon() {} } }, 'hooks.onLogon'],
  ])('refuses %s, naming the option', (_name, overrides, option) => {
    const error = optionError(() => createAuthRouter({ ...base, ...(overrides as object) } as AuthRouterOptions));
    expect(error.option).toBe(option);
    expect(error.message).toContain(option);
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
    expect(optionError(() => createAuthRouter({ ...base, accessToken: { algorithm: 'ES256', privateKey } })).option).toBe('accessToken.privateKey');
  });

  it('needs a private key to sign and a public key (or private) to verify', () => {
    expect(optionError(() => createAuthRouter({ ...base, accessToken: { algorithm: 'ES256' } })).option).toBe('accessToken.privateKey');
    expect(optionError(() => requireAccessToken({ algorithm: 'ES256' })).option).toBe('requireAccessToken.publicKey');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(typeof requireAccessToken({ algorithm: 'ES256', publicKey })).toBe('function');
  });

  it('refuses requireAccessToken options that would pass everyone or no one', () => {
    expect(optionError(() => requireAccessToken({ secret: SECRET, roles: [] })).option).toBe('requireAccessToken.roles');
    expect(optionError(() => requireAccessToken({ secret: 'short' })).option).toBe('requireAccessToken.secret');
  });
});
