import type { AccessTokenFailureReason } from '../errors.js';

/** The clock rules an access token's time claims are held to, in seconds. */
export interface ClockRules {
  /** Clock skew allowed either way between the signer and this verifier. */
  toleranceSeconds: number;
  /** The access-token lifetime: a token issued longer ago than this (plus the tolerance) is refused. */
  lifetimeSeconds: number;
}

/**
 * The one home of the time-claim rules (README "requireAccessToken(options)"), for claims whose
 * types were checked: the first that fails at `nowSeconds`, or `undefined`. Each claim is checked
 * only when given: `nbf` and `exp` as `jwt.verify` checks them (in its order), then `iat`, neither
 * in the future nor older than a token lives. For a token that passed once and is checked again
 * (a clock moved on, or back), no two of them fail together, so the order never decides its reason.
 */
export function timeClaimFailure(
  claims: { nbf?: number; exp?: number; iat?: number },
  nowSeconds: number,
  rules: ClockRules,
): AccessTokenFailureReason | undefined {
  const { nbf, exp, iat } = claims;
  const tolerance = rules.toleranceSeconds;
  if (nbf !== undefined && isInFuture(nbf, nowSeconds, tolerance)) return 'not_yet_valid';
  if (exp !== undefined && nowSeconds >= exp + tolerance) return 'expired';
  if (iat !== undefined && isInFuture(iat, nowSeconds, tolerance)) return 'issued_in_future';
  if (iat !== undefined && nowSeconds - iat > rules.lifetimeSeconds + tolerance) return 'too_old';
  return undefined;
}

/** Whether a time (`nbf`, `iat`, `auth_time`) is later than `nowSeconds`, beyond the tolerance. */
export function isInFuture(seconds: number, nowSeconds: number, toleranceSeconds: number): boolean {
  return seconds > nowSeconds + toleranceSeconds;
}
