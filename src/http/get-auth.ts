import type { Request } from 'express';
import { MissingTokenError } from '../errors.js';
import type { AuthInfo } from '../types.js';

/**
 * The verified access token of a request, for handlers behind `requireAccessToken()`: typed
 * without a `!` or a guard, since `req.auth` itself stays optional (a route with `optional: true`,
 * or none of ours, has no token). Throws `MissingTokenError` (401) when `requireAccessToken` did
 * not admit this request, so a route that forgot the middleware fails closed instead of reading
 * `undefined`.
 *
 * ```ts
 * app.get('/me', requireAccessToken(accessToken), (req, res) => {
 *   res.json({ userId: getAuth(req).userId });
 * });
 * ```
 */
export function getAuth(req: Request): AuthInfo {
  if (req.auth === undefined) throw new MissingTokenError();
  return req.auth;
}
