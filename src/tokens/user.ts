import { InternalError } from '../errors.js';
import { isPlainObject, isStringArray } from '../json.js';
import type { AuthUser } from '../types.js';
import { MAX_ID_LENGTH, type SignIn } from './access-token.js';

/** RFC 8176 method names are short tokens; a few of them describe any sign-in. */
const AMR_VALUE = /^[!-~]{1,64}$/;
const MAX_AMR_VALUES = 16;

/**
 * Throws a `TypeError` naming `source` (the app callback or call that gave it) unless `user` is an
 * `AuthUser` that access tokens can carry.
 */
export function assertAuthUser(user: unknown, source: string): asserts user is AuthUser {
  const candidate = user as AuthUser;
  const valid =
    isPlainObject(user) &&
    typeof candidate.id === 'string' &&
    candidate.id.length > 0 &&
    candidate.id.length <= MAX_ID_LENGTH &&
    (candidate.roles === undefined || isStringArray(candidate.roles)) &&
    (candidate.scopes === undefined || (isStringArray(candidate.scopes) && candidate.scopes.every((scope) => !/\s/.test(scope)))) &&
    (candidate.claims === undefined || isPlainObject(candidate.claims));
  if (!valid) {
    throw new TypeError(
      `${source} must give { id: string of 1 to ${MAX_ID_LENGTH} characters, roles?: string[], scopes?: string[], claims?: object }`,
    );
  }
}

/** Throws a `TypeError` naming `source` unless `amr` is a list of RFC 8176 method names. */
export function assertAmr(amr: unknown, source: string): asserts amr is string[] {
  if (!isStringArray(amr) || amr.length > MAX_AMR_VALUES || !amr.every((value) => AMR_VALUE.test(value))) {
    throw new TypeError(`${source} must be an array of at most ${MAX_AMR_VALUES} method names such as 'pwd', 'hwk' or 'otp'`);
  }
}

/**
 * What a session keeps, opaque to the store, to mint its access tokens again: the user as the
 * sign-in gave it, and the sign-in itself. One flat JSON object, as sessions stored before the
 * sign-in was kept have only the user's fields.
 */
export function serializeGrant(user: AuthUser, signIn: SignIn): string {
  const { id, roles, scopes, claims } = user;
  return JSON.stringify({ id, roles, scopes, claims, authTime: signIn.authTime, amr: signIn.amr });
}

/**
 * Reads what `serializeGrant` wrote. A session stored without its sign-in signed in when it was
 * created, by a method it does not say.
 */
export function parseGrant(userRecord: string, createdAt: number): { user: AuthUser; signIn: SignIn } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(userRecord);
  } catch {
    parsed = undefined;
  }
  if (!isPlainObject(parsed) || typeof parsed.id !== 'string') {
    // A store that returns something it was not given is broken.
    throw new InternalError(new Error('the store returned an unreadable user record'));
  }
  const { authTime, amr, ...user } = parsed;
  return {
    user: user as unknown as AuthUser,
    signIn: { authTime: typeof authTime === 'number' ? authTime : createdAt, amr: isStringArray(amr) ? amr : [] },
  };
}
