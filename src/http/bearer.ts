import type { Request } from 'express';
import { InvalidTokenError } from '../errors.js';

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
