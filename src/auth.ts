import type { Router } from 'express';
import { resolveAuthOptions, resolveGuardOptions } from './config/index.js';
import { booleanOption } from './config/values.js';
import { hookRunner } from './http/hooks.js';
import { accessTokenGuard, toAuthInfo } from './http/middleware.js';
import type { ErrorObserver } from './http/respond.js';
import { createEndpoints } from './http/router.js';
import { AccessTokens } from './tokens/access-token.js';
import { publicJwks } from './tokens/jwks.js';
import { AccessTokenAuthenticator, TokenService } from './tokens/token-service.js';
import type { Auth, AuthOptions, RevocationReason } from './types.js';

/** The reason of a revocation the app asks for without giving one. */
const APP_REVOCATION: RevocationReason = 'admin';

/**
 * Everything the library does, configured once (README "createAuth(options)"): the router, the
 * route middleware with the same keys, sessions started from any route, and the server-side
 * session controls. The options are resolved and checked here, at start-up; an invalid one throws
 * a `ConfigurationError`.
 */
export function createAuth(options: AuthOptions): Auth {
  const config = resolveAuthOptions(options);
  const { store, storeTimeoutMs, now } = config;
  const service = new TokenService(new AccessTokens(config.accessToken), store, config.refreshToken, storeTimeoutMs, now);
  // Routes that check no revocation may skip the signature check of a token seen before (see AccessTokens).
  const stateless = new AccessTokenAuthenticator(new AccessTokens(config.accessToken, { cacheVerified: true }), store, storeTimeoutMs, now);
  const runHook = hookRunner(config.hooks);
  // Not awaited: a refusal is answered at once, whatever the hook does.
  const observe: ErrorObserver = (error, req) => void runHook('onError', { error, req });
  const { router, startSession } = createEndpoints(config, service, runHook, observe);

  async function revoked(userId: string | undefined, sessionIds: string[], reason: RevocationReason | undefined): Promise<void> {
    if (userId !== undefined && sessionIds.length > 0) await runHook('onRevoke', { userId, sessionIds, reason: reason ?? APP_REVOCATION });
  }

  return {
    router,
    startSession,

    requireAccessToken(guardOptions) {
      const guard = resolveGuardOptions(guardOptions, 'requireAccessToken');
      return accessTokenGuard(guard.revocation === 'none' ? stateless : service.authenticator, guard, observe);
    },

    async verifyAccessToken(token, verifyOptions = {}) {
      const revocation = booleanOption(verifyOptions.revocation, false, 'verifyAccessToken.revocation');
      return toAuthInfo(revocation ? await service.authenticator.authenticate(token) : stateless.verify(token));
    },

    async revokeUser(userId, { reason } = {}) {
      const sessionIds = await service.revokeUser(userId);
      await revoked(userId, sessionIds, reason);
      return sessionIds;
    },

    async revokeSession(sessionId, { reason } = {}) {
      const session = await service.revokeSession(sessionId);
      await revoked(session?.userId, [sessionId], reason);
      return session !== null;
    },

    listSessions: (userId) => service.listSessions(userId),

    // A copy each time: what the app does with it never changes what the router serves.
    jwks: () => publicJwks(config.accessToken.keys),
  };
}

/** The router alone: shorthand for `createAuth(options).router`. */
export function createAuthRouter(options: AuthOptions): Router {
  return createAuth(options).router;
}
