import type { Request } from 'express';
import { CsrfRejectedError } from '../errors.js';

/** Methods that must not change state, so a cross-site one is no forgery of a state change. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

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
  if (origin !== undefined && (trustedOrigins.has(origin) || (!crossSite && hostOf(origin) === req.headers.host))) return;
  throw new CsrfRejectedError(crossSite ? 'cross_site' : 'untrusted_origin');
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
