import type { Request, RequestHandler, Response } from 'express';
import { ConfigurationError, InsufficientScopeError, MissingTokenError } from '../errors.js';
import { clockOption, integerOption, storeOption } from '../options.js';
import { AccessTokens, isStringArray, type AccessClaims } from '../tokens/access-token.js';
import { AccessTokenAuthenticator } from '../tokens/token-service.js';
import type { AuthInfo, RequireAccessTokenOptions } from '../types.js';
import { bearerToken } from './bearer.js';
import { sendError } from './respond.js';

/**
 * Route middleware: passes requests whose Bearer access token is valid (README "requireAccessToken(options)") and sets
 * `req.auth`. Without a `store` it touches no storage; with one it also checks revocation, in
 * one store call.
 */
export function requireAccessToken(options: RequireAccessTokenOptions): RequestHandler {
  if (!options || typeof options !== 'object') throw new ConfigurationError('requireAccessToken', 'options are required');
  // Without revocation checks, a token seen before skips the signature check (see AccessTokens).
  const accessTokens = new AccessTokens(options, 'verify', 'requireAccessToken', { cacheVerified: options.store === undefined });
  const store = options.store === undefined ? undefined : storeOption(options.store, 'requireAccessToken.store');
  const roles = listOption(options.roles, 'requireAccessToken.roles');
  const scopes = listOption(options.scopes, 'requireAccessToken.scopes');
  const optional = options.optional ?? false;
  if (typeof optional !== 'boolean') throw new ConfigurationError('requireAccessToken.optional', 'must be a boolean');
  const storeTimeoutMs = integerOption(options.storeTimeoutMs, 2000, 'requireAccessToken.storeTimeoutMs', 1, 60_000);
  const authenticator = new AccessTokenAuthenticator(accessTokens, store, storeTimeoutMs, clockOption(options.now, 'requireAccessToken.now'));

  function admit(req: Request, res: Response, next: (error?: unknown) => void, claims: AccessClaims): void {
    const allowed =
      (!roles || roles.some((role) => claims.roles.includes(role))) &&
      (!scopes || scopes.every((scope) => claims.scopes.includes(scope)));
    if (!allowed) return sendError(res, new InsufficientScopeError());
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
      return sendError(res, error);
    }
    // The stateless path stays synchronous: no promise, no timer per request.
    if (!authenticator.checksRevocation) return admit(req, res, next, claims);
    authenticator
      .assertNotRevoked(claims)
      .then(() => admit(req, res, next, claims))
      .catch((error: unknown) => sendError(res, error));
  };
}

function toAuthInfo(claims: AccessClaims): AuthInfo {
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

function listOption(value: unknown, option: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (isStringArray(value) && value.length > 0) return value;
  throw new ConfigurationError(option, 'must be a non-empty array of strings');
}
