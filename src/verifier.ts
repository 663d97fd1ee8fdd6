import { resolveGuardOptions } from './config/index.js';
import { resolveVerifierOptions } from './config/verifier.js';
import { InvalidTokenError } from './errors.js';
import { accessTokenGuard, toAuthInfo, type TokenAuthenticator } from './http/middleware.js';
import { AccessTokens } from './tokens/access-token.js';
import { RemoteKeySet } from './tokens/remote-keys.js';
import { AccessTokenAuthenticator } from './tokens/token-service.js';
import type { AccessTokenVerifier, AccessTokenVerifierOptions } from './types.js';

/**
 * For services that only verify the access tokens another service signs (README "Keys and other
 * services"): with the keys of its JWKS (`jwksUri`) or given ones (`keys`), by the same rules as
 * the signer's `requireAccessToken`. No store: revocation is the signer's to check.
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const config = resolveVerifierOptions(options);
  const { now } = config;
  const authenticator: TokenAuthenticator =
    config.source === 'keys'
      ? new AccessTokenAuthenticator(new AccessTokens(config.accessToken, { cacheVerified: true }), undefined, 0, now)
      : remoteAuthenticator(new RemoteKeySet(config.jwks, config.claims, now), now);
  return {
    async verify(token) {
      if (typeof token !== 'string') throw new InvalidTokenError('malformed');
      return toAuthInfo(await authenticator.verify(token));
    },
    requireAccessToken(guardOptions) {
      return accessTokenGuard(authenticator, resolveGuardOptions(guardOptions, 'requireAccessToken', undefined));
    },
  };
}

function remoteAuthenticator(keys: RemoteKeySet, now: () => number): TokenAuthenticator {
  return {
    verify: (token) => keys.verify(token),
    nowSeconds: () => Math.floor(now() / 1000),
    assertNotRevoked: () => Promise.reject(new Error('a verifier has no store to check revocation with')),
  };
}
