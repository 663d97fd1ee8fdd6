import type { CookieOptions as ExpressCookieOptions, Request, Response } from 'express';
import { ConfigurationError, InvalidRequestError } from '../errors.js';
import type { CookieOptions } from '../types.js';

export interface RefreshCookie {
  name: string;
  sameSite: 'strict' | 'lax' | 'none';
  secure: boolean;
  domain?: string;
  /**
   * The cookie's `Path`, the same from any route and whatever letter case a request used:
   * `refreshToken.cookie.path`, else `/` for a `__Host-` cookie, else where the app mounted the
   * router, else `/`.
   */
  path(): string;
}

export type Transport = 'cookie' | 'body';

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What RFC 6265 allows in a path attribute, less `;` and spaces, and less `<` as the `cookie` package refuses it. */
const COOKIE_PATH = /^\/[!-:=-~]*$/;

export function resolveCookie(value: CookieOptions | undefined, mountPath: () => string | undefined): RefreshCookie {
  const given = Object.fromEntries(Object.entries(value ?? {}).filter(([, option]) => option !== undefined));
  const cookie = { name: 'refresh_token', sameSite: 'strict', secure: true, ...given } as Omit<RefreshCookie, 'path'> & { path?: unknown };
  if (typeof cookie.name !== 'string' || !COOKIE_NAME.test(cookie.name)) {
    throw new ConfigurationError('refreshToken.cookie.name', 'must be a valid cookie name');
  }
  if (!['strict', 'lax', 'none'].includes(cookie.sameSite)) {
    throw new ConfigurationError('refreshToken.cookie.sameSite', "must be 'strict', 'lax' or 'none'");
  }
  if (typeof cookie.secure !== 'boolean') throw new ConfigurationError('refreshToken.cookie.secure', 'must be a boolean');
  if (cookie.sameSite === 'none' && !cookie.secure) {
    throw new ConfigurationError('refreshToken.cookie.sameSite', "'none' needs secure: true (browsers drop it otherwise)");
  }
  if (cookie.domain !== undefined && (typeof cookie.domain !== 'string' || cookie.domain === '')) {
    throw new ConfigurationError('refreshToken.cookie.domain', 'must be a non-empty string');
  }
  const { path } = cookie;
  if (path !== undefined && (typeof path !== 'string' || !COOKIE_PATH.test(path))) {
    throw new ConfigurationError('refreshToken.cookie.path', 'must be a path starting with /, in printable ASCII without ";", "<" or spaces');
  }
  assertPrefixRules(cookie.name, cookie.secure, cookie.domain, path);
  const hostOnly = /^__Host-/i.test(cookie.name);
  return { ...cookie, path: () => path ?? (hostOnly ? '/' : mountPath() ?? '/') };
}

/**
 * Browsers silently drop a cookie whose name promises what its attributes do not (RFC 6265bis
 * 4.1.3, prefixes compared in any letter case): `__Secure-` needs `Secure`; `__Host-` needs
 * `Secure`, no `Domain` and `Path=/`.
 */
function assertPrefixRules(name: string, secure: boolean, domain: string | undefined, path: string | undefined): void {
  const prefix = /^__(Host|Secure)-/i.exec(name)?.[0];
  if (!prefix) return;
  const rule = `for a cookie named ${prefix}...`;
  if (!secure) throw new ConfigurationError('refreshToken.cookie.secure', `must be true ${rule}`);
  if (/^__Host-/i.test(prefix)) {
    if (domain !== undefined) throw new ConfigurationError('refreshToken.cookie.domain', `must not be set ${rule}`);
    if (path !== undefined && path !== '/') throw new ConfigurationError('refreshToken.cookie.path', `must be / ${rule}`);
  }
}

/** Every value the raw `Cookie` header gives `name`: duplicates matter, so no parser that keeps one. */
export function cookieValues(req: Request, name: string): string[] {
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
export function readRefreshToken(req: Request, cookie: RefreshCookie, transport: Transport): { token: string; fromCookie: boolean } | undefined {
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

/** The parsed JSON body: an object, or `undefined` when there was none; anything else is a 400. */
export function objectBody(body: unknown): Record<string, unknown> | undefined {
  if (body === undefined) return undefined;
  if (!isPlainObject(body)) throw new InvalidRequestError('The request body must be a JSON object.');
  return body;
}

/** A field the body itself has: never one inherited through a `__proto__` key. */
export function ownField(body: Record<string, unknown> | undefined, name: string): unknown {
  return body && Object.hasOwn(body, name) ? body[name] : undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
