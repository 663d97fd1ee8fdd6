import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { resolveStandaloneGuard, type ResolvedGuardOptions } from '../config/index.js';
import { InsufficientScopeError, MissingTokenError } from '../errors.js';
import { AccessTokens, type AccessClaims } from '../tokens/access-token.js';
import { AccessTokenAuthenticator } from '../tokens/token-service.js';
import type { AuthInfo, RequireAccessTokenOptions } from '../types.js';
import { bearerToken } from './bearer.js';
import { sendError } from './respond.js';

/**
 * Route middleware with its own keys (README "requireAccessToken(options)"): passes requests
 * whose Bearer access token is valid and sets `req.auth`. With a `store` it also checks
 * revocation, in one store call. `createAuth(...).requireAccessToken()` is the same check with
 * the keys given once.
 */
export function requireAccessToken(options: RequireAccessTokenOptions): RequestHandler {
  const { accessToken, store, storeTimeoutMs, now, guard } = resolveStandaloneGuard(options);
  // Without revocation checks, a token seen before skips the signature check (see AccessTokens).
  const accessTokens = new AccessTokens(accessToken, { cacheVerified: guard.revocation === 'none' });
  return accessTokenGuard(new AccessTokenAuthenticator(accessTokens, store, storeTimeoutMs, now), guard);
}

/** Called with every error a guard answers (or passes on), before it does. */
export type GuardObserver = (error: unknown, req: Request) => void;

/**
 * The middleware behind both `requireAccessToken`s. The stateless path stays synchronous: no
 * promise and no timer per request.
 */
export function accessTokenGuard(authenticator: AccessTokenAuthenticator, options: ResolvedGuardOptions, observe?: GuardObserver): RequestHandler {
  const { roles, scopes, optional, revocation, errors } = options;

  function fail(req: Request, res: Response, next: NextFunction, error: unknown): void {
    observe?.(error, req);
    if (errors === 'next') next(error);
    else sendError(res, error);
  }

  function admit(req: Request, res: Response, next: NextFunction, claims: AccessClaims): void {
    const allowed =
      (!roles || roles.some((role) => claims.roles.includes(role))) &&
      (!scopes || scopes.every((scope) => claims.scopes.includes(scope)));
    if (!allowed) return fail(req, res, next, new InsufficientScopeError());
    req.auth = toAuthInfo(claims);
    next();
  }

  return (req, res, next) => {
    let claims: AccessClaims;
    try {
      const token = bearerToken(req);
      if (token === undefined) {
        if (optional) return next();
        throw new MissingTokenError();
      }
      claims = authenticator.verify(token);
    } catch (error) {
      return fail(req, res, next, error);
    }
    if (revocation === 'none') return admit(req, res, next, claims);
    authenticator
      .assertNotRevoked(claims)
      .then(() => admit(req, res, next, claims))
      .catch((error: unknown) => fail(req, res, next, error));
  };
}

export function toAuthInfo(claims: AccessClaims): AuthInfo {
  return {
    userId: claims.sub,
    sessionId: claims.sid,
    tokenId: claims.jti,
    roles: claims.roles,
    scopes: claims.scopes,
    claims: claims.claims,
    expiresAt: new Date(claims.exp * 1000),
  };
}
