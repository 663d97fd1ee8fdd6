import type { Router } from 'express';
import { resolveAuthOptions, resolveGuardOptions } from './config/index.js';
import { booleanOption } from './config/values.js';
import { hookRunner } from './http/hooks.js';
import { accessTokenGuard, toAuthInfo } from './http/middleware.js';
import { createRouter } from './http/router.js';
import { AccessTokens } from './tokens/access-token.js';
import { AccessTokenAuthenticator, TokenService } from './tokens/token-service.js';
import type { Auth, AuthOptions } from './types.js';

/**
 * Everything the library does, configured once (README "createAuth(options)"): the router, the
 * route middleware with the same keys, and the server-side session controls. The options are
 * resolved and checked here, at start-up; an invalid one throws a `ConfigurationError`.
 */
export function createAuth(options: AuthOptions): Auth {
  const config = resolveAuthOptions(options);
  const { store, storeTimeoutMs, now } = config;
  const service = new TokenService(new AccessTokens(config.accessToken), store, config.refreshToken, storeTimeoutMs, now);
  // Routes that check no revocation may skip the signature check of a token seen before (see AccessTokens).
  const stateless = new AccessTokenAuthenticator(new AccessTokens(config.accessToken, { cacheVerified: true }), store, storeTimeoutMs, now);
  const runHook = hookRunner(config.hooks);

  return {
    router: createRouter(config, service),

    requireAccessToken(guardOptions) {
      const guard = resolveGuardOptions(guardOptions, 'requireAccessToken');
      return accessTokenGuard(guard.revocation === 'none' ? stateless : service.authenticator, guard);
    },

    async verifyAccessToken(token, options = {}) {
      const revocation = booleanOption(options.revocation, false, 'verifyAccessToken.revocation');
      return toAuthInfo(revocation ? await service.authenticator.authenticate(token) : stateless.verify(token));
    },

    revokeUser: (userId) => service.revokeUser(userId),

    async revokeSession(sessionId) {
      return (await service.revokeSession(sessionId)) !== null;
    },

    listSessions: (userId) => service.listSessions(userId),
  };
}

/** The router alone: shorthand for `createAuth(options).router`. */
export function createAuthRouter(options: AuthOptions): Router {
  return createAuth(options).router;
}
