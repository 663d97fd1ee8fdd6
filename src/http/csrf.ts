import type { Request } from 'express';
import { CsrfRejectedError } from '../errors.js';

/** Methods that must not change state, so a cross-site one is no forgery of a state change. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/**
 * Whether the request is a GET or a HEAD as the browser sent it: method-override middleware
 * rewrites `req.method` from a `_method` field a cross-site form can set, and keeps what the
 * browser sent in `req.originalMethod`.
 */
export function isSafeMethod(req: Request): boolean {
  const sent = (req as Request & { originalMethod?: unknown }).originalMethod;
  return SAFE_METHODS.has(req.method) && (sent === undefined || (typeof sent === 'string' && SAFE_METHODS.has(sent)));
}

/** The `Sec-Fetch-Site` values of a request that is not cross-site. */
const NOT_CROSS_SITE = new Set(['same-origin', 'same-site', 'none']);

/**
 * Refuses a browser request made from another site. A request with an `Origin` passes when that
 * origin is trusted, or is on the request's own host and the browser does not call it
 * cross-site. A request without `Origin` passes unless `Sec-Fetch-Site` says cross-site: clients
 * that are not browsers send neither header and are not refused. A header sent twice, or a
 * `Sec-Fetch-Site` of any other value, counts as cross-site: Node joins repeated headers into
 * one string, which must never read as a value we accept.
 */
export function assertNotCrossSite(req: Request, trustedOrigins: ReadonlySet<string>): void {
  const site = req.headersDistinct['sec-fetch-site'];
  const origins = req.headersDistinct.origin;
  const crossSite = site !== undefined && (site.length !== 1 || !NOT_CROSS_SITE.has(site[0]!));
  if (origins === undefined) {
    if (crossSite) throw new CsrfRejectedError('cross_site');
    return;
  }
  const origin = origins.length === 1 ? origins[0]! : undefined;
  if (origin !== undefined && (trustedOrigins.has(origin) || (!crossSite && isOwnOrigin(origin, req)))) return;
  throw new CsrfRejectedError(crossSite ? 'cross_site' : 'untrusted_origin');
}

/**
 * Whether an `Origin` is the request's own: an http(s) origin on the request's host, and https when
 * the request came over TLS (`req.secure`, which follows Express's `trust proxy`), so that a page
 * of the plain-http site a network attacker can serve does not pass for the https one. Hosts
 * compare without letter case, as browsers and DNS treat them.
 */
function isOwnOrigin(origin: string, req: Request): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && (url.protocol !== 'http:' || req.secure)) return false;
  return url.host === req.headers.host?.toLowerCase();
}
