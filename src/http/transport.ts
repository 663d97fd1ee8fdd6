import type { CookieOptions as ExpressCookieOptions, Request, Response } from 'express';
import type { ResolvedCookie } from '../config/index.js';
import { InvalidRequestError, TransportMismatchError } from '../errors.js';
import { isPlainObject, ownField } from '../json.js';

/** The refresh cookie's attributes, as the router and `startSession` set them. */
export interface RefreshCookie extends Omit<ResolvedCookie, 'path'> {
  /**
   * The cookie's `Path`, the same from any route and whatever letter case a request used:
   * `refreshToken.cookie.path`, else `/` for a `__Host-` cookie, else where the app mounted the
   * router, else `/`.
   */
  path(): string;
}

export type Transport = 'cookie' | 'body';

/** The resolved cookie options with their path, which may depend on where the router is mounted. */
export function refreshCookie(options: ResolvedCookie, mountPath: () => string | undefined): RefreshCookie {
  const { path, ...attributes } = options;
  const hostOnly = /^__Host-/i.test(options.name);
  return { ...attributes, path: () => path ?? (hostOnly ? '/' : (mountPath() ?? '/')) };
}

/** Every value the raw `Cookie` header gives `name`: duplicates matter, so no parser that keeps one. */
function cookieValues(req: Request, name: string): string[] {
  const header = req.headers.cookie;
  if (!header) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    values.push(value);
  }
  return values;
}

export function hasCookie(req: Request, name: string): boolean {
  return cookieValues(req, name).length > 0;
}

/**
 * The refresh token of a request, from the cookie or the JSON body's `refreshToken`. Presented
 * more than once (two cookies, or a cookie and a body field) is a 400 whatever the transport: a
 * browser can be made to send an attacker's cookie first. With cookie transport a body field is a
 * 400 too: a cross-site form can fill one in (behind an app-level form parser), and answering it
 * with `Set-Cookie` would plant the sender's session in the victim's browser.
 */
export function readRefreshToken(
  req: Request,
  cookie: RefreshCookie,
  transport: Transport,
): { token: string; fromCookie: boolean } | undefined {
  const fromCookies = cookieValues(req, cookie.name);
  const fromBody = ownField(objectBody(req.body), 'refreshToken');
  if (fromBody !== undefined && typeof fromBody !== 'string') throw new InvalidRequestError('refreshToken must be a string.');
  if (fromCookies.length + (fromBody === undefined ? 0 : 1) > 1) {
    throw new InvalidRequestError('The refresh token was presented more than once.');
  }
  if (fromBody !== undefined) {
    if (transport === 'cookie') throw new InvalidRequestError('With cookie transport, the refresh token is read from its cookie only.');
    return { token: fromBody, fromCookie: false };
  }
  if (fromCookies.length === 1) return { token: fromCookies[0]!, fromCookie: true };
  return undefined;
}

function attributes(cookie: RefreshCookie): ExpressCookieOptions {
  return { httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite, path: cookie.path(), domain: cookie.domain };
}

export function setRefreshCookie(res: Response, cookie: RefreshCookie, token: string, maxAgeMs: number): void {
  res.cookie(cookie.name, token, { ...attributes(cookie), maxAge: Math.max(0, maxAgeMs), encode: String });
}

export function clearRefreshCookie(res: Response, cookie: RefreshCookie): void {
  res.clearCookie(cookie.name, attributes(cookie));
}

/**
 * A login body may say which transport its client keeps the refresh token by (the client of
 * `express-refresh-tokens/client` always does): a mismatch is refused before anything else is
 * done, where answering would start a session the client cannot keep. Absent, nothing is checked.
 */
export function assertClientTransport(body: Record<string, unknown> | undefined, transport: Transport): void {
  const expected = ownField(body, 'transport');
  if (expected === undefined) return;
  if (expected !== 'cookie' && expected !== 'body') throw new InvalidRequestError("transport must be 'cookie' or 'body'.");
  if (expected !== transport) throw new TransportMismatchError(transport);
}

/** The parsed JSON body: an object, or `undefined` when there was none; anything else is a 400. */
export function objectBody(body: unknown): Record<string, unknown> | undefined {
  if (body === undefined) return undefined;
  if (!isPlainObject(body)) throw new InvalidRequestError('The request body must be a JSON object.');
  return body;
}
