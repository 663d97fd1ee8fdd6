import type { RequestHandler } from 'express';
import { ACCESS_TOKEN_OPTION_NAMES, resolveAccessTokenOptions } from '../config/access-token.js';
import { DEFAULTS } from '../config/defaults.js';
import { knownNames } from '../config/values.js';
import { publicJwks, type JsonWebKeySet } from '../tokens/jwks.js';
import type { AccessTokenOptions } from '../types.js';

/**
 * Serves the public keys of access-token options as a JWKS, anywhere the app mounts it
 * (README "Keys and other services"): `app.get('/.well-known/jwks.json', jwksHandler(accessToken))`.
 * The router of `createAuth` serves the same at `GET /jwks.json`.
 */
export function jwksHandler(options: AccessTokenOptions): RequestHandler {
  if (options && typeof options === 'object')
    knownNames(options as unknown as Record<string, unknown>, ACCESS_TOKEN_OPTION_NAMES, 'jwksHandler.');
  return serveJwks(publicJwks(resolveAccessTokenOptions(options, 'verify', 'jwksHandler').keys));
}

/** A JWKS answer, written once: public, and cacheable for a few minutes (the keys change rarely, and only by a deploy). */
export function serveJwks(jwks: JsonWebKeySet): RequestHandler {
  const body = JSON.stringify(jwks);
  return (_req, res) => {
    res
      .status(200)
      .set({ 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': `public, max-age=${DEFAULTS.jwksMaxAgeSeconds}` })
      .end(body);
  };
}
