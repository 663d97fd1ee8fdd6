import type { Router } from 'express';
import { resolveAuthOptions, resolveGuardOptions, resolveVerifyOptions } from './config/index.js';
import { hookRunner } from './http/hooks.js';
import { accessTokenGuard, toAuthInfo } from './http/middleware.js';
import type { ErrorObserver } from './http/respond.js';
import { createEndpoints } from './http/router.js';
import { AccessTokens } from './tokens/access-token.js';
import { publicJwks } from './tokens/jwks.js';
import { MemoryLoginCounters } from './store/login-counters.js';
import { LoginThrottle } from './tokens/login-throttle.js';
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
  // Routes that do not ask the store on each request may skip the signature check of a token seen
  // before (see AccessTokens); it also holds the in-memory view of revocation: 'cached'.
  const stateless = new AccessTokenAuthenticator(new AccessTokens(config.accessToken, { cacheVerified: true }), store, storeTimeoutMs, now);
  const runHook = hookRunner(config.hooks);
  // Not awaited: a refusal is answered at once, whatever the hook does.
  const observe: ErrorObserver = (error, req) => void runHook('onError', { error, req });
  // Only a router with `/login` counts logins (and warns about where it counts them).
  const throttle =
    config.loginThrottle && config.verifyCredentials
      ? new LoginThrottle(config.loginThrottle, store, storeTimeoutMs, now, () => new MemoryLoginCounters())
      : undefined;
  const { router, startSession } = createEndpoints(config, service, throttle, runHook, observe);

  async function revoked(userId: string | undefined, sessionIds: string[], reason: RevocationReason | undefined): Promise<void> {
    if (userId !== undefined && sessionIds.length > 0) await runHook('onRevoke', { userId, sessionIds, reason: reason ?? APP_REVOCATION });
  }

  return {
    router,
    startSession,

    requireAccessToken(guardOptions) {
      const guard = resolveGuardOptions(guardOptions, 'requireAccessToken', store);
      return accessTokenGuard(guard.revocation === 'store' ? service.authenticator : stateless, guard, observe);
    },

    async verifyAccessToken(token, verifyOptions = {}) {
      const { revocation, maxStalenessMs } = resolveVerifyOptions(verifyOptions, store);
      if (revocation === 'none') return toAuthInfo(stateless.verify(token));
      if (revocation === 'store') return toAuthInfo(await service.authenticator.authenticate(token));
      return toAuthInfo(await stateless.authenticate(token, maxStalenessMs));
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
