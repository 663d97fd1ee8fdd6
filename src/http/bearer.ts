import type { Request } from 'express';
import type { TokenLocator } from '../config/index.js';
import { AuthError, InvalidTokenError } from '../errors.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
/** Far above any access token we sign; longer input is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 8192;

/**
 * The Bearer token of the `Authorization` header: `undefined` when there is none (no header, or
 * another scheme), `InvalidTokenError` when it is malformed. Tokens in the query string or the
 * body are never read (RFC 6750 §2.3 leaks them into logs).
 */
export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined || !/^bearer(\s|$)/i.test(header)) return undefined;
  const match = header.length <= MAX_TOKEN_LENGTH ? BEARER.exec(header) : null;
  if (!match) throw new InvalidTokenError('malformed', { message: 'The Authorization header is malformed.' });
  return match[1];
}

/**
 * The access token where the app's `getToken` finds it: `undefined` for none (also `null` or an
 * empty string). Whatever else goes wrong is the request's token being unusable, 401
 * `invalid_token`, never a 500: a throw (an `AuthError` thrown is kept as it is), an answer that
 * is not a string (a promise included: `getToken` is synchronous), or one longer than any token.
 */
export function locatedToken(getToken: TokenLocator, req: Request): string | undefined {
  let token: unknown;
  try {
    token = getToken(req);
  } catch (error) {
    if (error instanceof AuthError) throw error;
    throw new InvalidTokenError('malformed', { cause: error });
  }
  if (token === undefined || token === null || token === '') return undefined;
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
    throw new InvalidTokenError('malformed', { cause: new Error('getToken returned something other than a token string') });
  }
  return token;
}
