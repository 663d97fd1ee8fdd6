import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { AccessTokenClaims } from '../client/types.js';
import type { ResolvedAccessTokenOptions, ResolvedKeys } from '../config/access-token.js';
import { InvalidTokenError, type AccessTokenFailureReason } from '../errors.js';
import { isStringArray } from '../json.js';
import type { AuthUser } from '../types.js';

/** The JOSE `typ` of our access tokens (RFC 9068): no other JWT signed with the same key passes. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** Claims that belong to the library; custom claims never override them (nor the payload's prototype). */
const RESERVED_CLAIMS = new Set(['sub', 'jti', 'sid', 'iat', 'exp', 'iss', 'aud', 'nbf', 'roles', 'scope', 'auth_time', 'amr', '__proto__']);

/** Longest `sub`, `sid` or `jti` accepted; the router refuses longer user ids at login. */
export const MAX_ID_LENGTH = 256;

const HMAC_HASHES: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/**
 * A JWS in compact serialisation as jws (under jsonwebtoken) accepts it: three base64url
 * segments, header and payload non-empty. No padding, no `+` or `/`, no whitespace.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The largest `clockToleranceSeconds` accepted: a token may pass this long after its `exp`. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/** How many verified tokens an `AccessTokens` with `cacheVerified` keeps (the oldest goes first). */
export const VERIFIED_TOKEN_CACHE_SIZE = 1000;

/** The verified claims we rely on; `claims` holds all of them. */
export interface AccessClaims {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  roles: string[];
  scopes: string[];
  /** `auth_time`: when the session's sign-in happened, in seconds; absent from tokens that lack it. */
  authTime?: number;
  /** `amr`: how the user signed in (RFC 8176 names); empty when the token does not say. */
  amr: string[];
  claims: Record<string, unknown>;
}

/** What an access token says of its session's sign-in. */
export interface SignIn {
  /** When it happened, in ms since the epoch. */
  authTime: number;
  /** How, in RFC 8176 method names (`pwd`, `hwk`, `otp`, ...). */
  amr: string[];
}

export interface SignedAccessToken {
  token: string;
  jti: string;
  /** Lifetime in seconds, as sent in the token response. */
  expiresIn: number;
}

/** What the HS algorithms are verified with, prepared once (see `verifyHmac`). */
interface HmacVerifier {
  /** Node's name of the hash: sha256, sha384 or sha512. */
  hash: string;
  key: KeyObject;
  /** The header segment that `sign` writes, and its dot: tokens that start with it skip header parsing. */
  headerPrefix: string;
}

/**
 * Signs and verifies access tokens with keys that the options resolved into `KeyObject`s once,
 * so no request pays for parsing a PEM or a string secret (jsonwebtoken would, on every call).
 *
 * HS256/384/512 tokens are verified here, without jsonwebtoken (which decodes and splits the
 * token several times, and copies its options, on every call); the asymmetric algorithms go
 * through `jwt.verify`. Both paths accept exactly the same tokens (README "requireAccessToken(options)").
 */
export class AccessTokens {
  readonly lifetimeSeconds: number;
  private readonly keys: ResolvedKeys;
  private readonly hmac?: HmacVerifier;
  private readonly issuer?: string;
  private readonly audience?: string;
  private readonly toleranceSeconds: number;
  /** Verified payloads by the whole token string (see `cacheVerified`); only flat payloads. */
  private readonly verified?: Map<string, Record<string, unknown>>;

  /**
   * @param cacheVerified keep the payloads of up to {@link VERIFIED_TOKEN_CACHE_SIZE} verified
   * tokens, so a token presented again skips the signature check and parsing; its time claims
   * are checked again on every use, and it is dropped once it fails them. Only for callers that
   * check no revocation: a token's signature never changes, its revocation can.
   */
  constructor(options: ResolvedAccessTokenOptions, { cacheVerified = false } = {}) {
    this.keys = options.keys;
    this.lifetimeSeconds = options.lifetimeSeconds;
    this.toleranceSeconds = options.toleranceSeconds;
    this.issuer = options.issuer;
    this.audience = options.audience;
    const hash = HMAC_HASHES[this.keys.algorithm];
    if (hash !== undefined) {
      const header = Buffer.from(JSON.stringify(this.header())).toString('base64url');
      this.hmac = { hash, key: this.keys.verifyingKey, headerPrefix: `${header}.` };
    }
    if (cacheVerified) this.verified = new Map();
  }

  /** The JOSE header of every token we sign. */
  private header(): { alg: string; typ: string } {
    return { alg: this.keys.algorithm, typ: ACCESS_TOKEN_TYPE };
  }

  sign(user: AuthUser, sessionId: string, signIn: SignIn, nowMs: number): SignedAccessToken {
    const { signingKey, algorithm } = this.keys;
    if (!signingKey) throw new Error('AccessTokens: created for verifying only');
    const iat = Math.floor(nowMs / 1000);
    const jti = randomBytes(16).toString('base64url');
    const payload: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(user.claims ?? {})) {
      if (!RESERVED_CLAIMS.has(name)) payload[name] = value;
    }
    Object.assign(payload, { sub: user.id, sid: sessionId, jti, iat, exp: iat + this.lifetimeSeconds, auth_time: Math.floor(signIn.authTime / 1000) });
    if (signIn.amr.length) payload.amr = signIn.amr;
    if (this.issuer !== undefined) payload.iss = this.issuer;
    if (this.audience !== undefined) payload.aud = this.audience;
    if (user.roles?.length) payload.roles = user.roles;
    if (user.scopes?.length) payload.scope = user.scopes.join(' ');
    const token = jwt.sign(payload, signingKey, {
      algorithm: algorithm as jwt.Algorithm,
      header: this.header(),
    });
    return { token, jti, expiresIn: this.lifetimeSeconds };
  }

  /** Verifies signature and claims as the README ("requireAccessToken(options)") says; every failure is an `InvalidTokenError`. */
  verify(token: string, nowMs: number): AccessClaims {
    const nowSeconds = Math.floor(nowMs / 1000);
    const cached = this.verified?.get(token);
    if (cached !== undefined) return this.reuse(token, cached, nowSeconds);
    const payload = this.hmac ? this.verifyHmac(this.hmac, token, nowSeconds) : this.verifyWithJsonwebtoken(token, nowSeconds);
    const { sub, sid, jti, iat, exp, roles, scope, auth_time: authTime, amr } = payload;
    if (typeof exp !== 'number' || typeof iat !== 'number') throw invalid('bad_claims', 'exp and iat must be numbers');
    if (iat > nowSeconds + this.toleranceSeconds) throw invalid('issued_in_future', 'iat is in the future');
    if (nowSeconds - iat > this.lifetimeSeconds + this.toleranceSeconds) throw invalid('too_old', 'iat is older than the token lifetime');
    if (!isId(sub) || !isId(sid) || !isId(jti)) throw invalid('bad_claims', 'sub, sid and jti must be non-empty strings');
    if (roles !== undefined && !isStringArray(roles)) throw invalid('bad_claims', 'roles must be an array of strings');
    if (scope !== undefined && typeof scope !== 'string') throw invalid('bad_claims', 'scope must be a string');
    if (authTime !== undefined && (typeof authTime !== 'number' || authTime > nowSeconds + this.toleranceSeconds)) {
      throw invalid('bad_claims', 'auth_time must be a number, not in the future');
    }
    if (amr !== undefined && !isStringArray(amr)) throw invalid('bad_claims', 'amr must be an array of strings');
    const verified = this.verified;
    if (verified === undefined || !isFlat(payload)) return toAccessClaims(payload);
    if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value!);
    verified.set(token, payload);
    // The kept payload is never handed out: each request gets its own copy to change at will.
    return toAccessClaims(copyOf(payload));
  }

  /**
   * A token verified before: the same string, so the same signature, header and claims. Only
   * what time changes is checked again (`nbf`, `exp`, `iat`), exactly as on the first use.
   */
  private reuse(token: string, payload: Record<string, unknown>, nowSeconds: number): AccessClaims {
    const failure = this.timeFailure(payload as { nbf?: number; exp: number; iat: number }, nowSeconds);
    if (failure) {
      this.verified!.delete(token);
      throw invalid(failure, 'a time claim no longer holds');
    }
    return toAccessClaims(copyOf(payload));
  }

  /** The time claim of a verified payload that fails at `nowSeconds`, if any. */
  private timeFailure({ nbf, exp, iat }: { nbf?: number; exp: number; iat: number }, nowSeconds: number): AccessTokenFailureReason | undefined {
    const tolerance = this.toleranceSeconds;
    if (nowSeconds >= exp + tolerance) return 'expired';
    if (nbf !== undefined && nbf > nowSeconds + tolerance) return 'not_yet_valid';
    if (iat > nowSeconds + tolerance) return 'issued_in_future';
    if (nowSeconds - iat > this.lifetimeSeconds + tolerance) return 'too_old';
    return undefined;
  }

  /**
   * HS256/384/512 without jsonwebtoken, by the same rules, in this order: exactly three base64url
   * segments (as jws requires); a header that is the one we sign, byte for byte, or else one that
   * parses to an object whose `alg` is the configured algorithm, compared exactly, and whose `typ`
   * passes `isAccessTokenType`; the HMAC of the signing input, base64url-encoded, equal to the
   * signature segment in constant time (so a signature written another way, with padding or other
   * trailing bits, is refused, as jws refuses it); a payload that is a JSON object; then `nbf`,
   * `exp`, `aud` and `iss` as `jwt.verify` checks them.
   */
  private verifyHmac(hmac: HmacVerifier, token: string, nowSeconds: number): Record<string, unknown> {
    if (typeof token !== 'string' || !COMPACT_JWS.test(token)) throw invalid('malformed', 'not a compact JWS of three base64url segments');
    const headerEnd = token.indexOf('.');
    const payloadEnd = token.indexOf('.', headerEnd + 1);
    if (!token.startsWith(hmac.headerPrefix)) this.checkHeader(token.slice(0, headerEnd));
    const signature = token.slice(payloadEnd + 1);
    const expected = createHmac(hmac.hash, hmac.key).update(token.slice(0, payloadEnd)).digest('base64url');
    // Both are ASCII (the pattern above, base64url): latin1 is exact, and the lengths are public.
    if (signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature, 'latin1'), Buffer.from(expected, 'latin1'))) {
      throw invalid('bad_signature', 'invalid signature');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(token.slice(headerEnd + 1, payloadEnd), 'base64url').toString('utf8'));
    } catch (error) {
      throw new InvalidTokenError('malformed', { cause: error });
    }
    if (!isJsonObject(payload)) throw invalid('malformed', 'payload is not an object');
    const { nbf, exp, aud, iss } = payload;
    const tolerance = this.toleranceSeconds;
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds + tolerance)) throw invalid(typeof nbf === 'number' ? 'not_yet_valid' : 'bad_claims', 'nbf is not a number, or in the future');
    if (exp !== undefined) {
      if (typeof exp !== 'number') throw invalid('bad_claims', 'exp must be a number');
      if (nowSeconds >= exp + tolerance) throw invalid('expired', 'jwt expired');
    }
    if (this.audience !== undefined && aud !== this.audience && !(Array.isArray(aud) && aud.includes(this.audience))) throw invalid('wrong_audience', 'aud does not match');
    if (this.issuer !== undefined && iss !== this.issuer) throw invalid('wrong_issuer', 'iss does not match');
    return payload;
  }

  /** A header other than the one we sign: the same rules, after parsing it (as jws does, latin1). */
  private checkHeader(segment: string): void {
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(segment, 'base64url').toString('latin1'));
    } catch (error) {
      throw new InvalidTokenError('malformed', { cause: error });
    }
    if (!isJsonObject(header)) throw invalid('malformed', 'the header is not an object');
    if (header.alg !== this.keys.algorithm) throw invalid('wrong_algorithm', 'alg is not the configured algorithm');
    checkHeaderRules(header);
  }

  /** The asymmetric algorithms: jsonwebtoken checks the signature, `nbf`, `exp`, `aud` and `iss`. */
  private verifyWithJsonwebtoken(token: string, nowSeconds: number): Record<string, unknown> {
    let decoded: jwt.Jwt;
    try {
      decoded = jwt.verify(token, this.keys.verifyingKey, {
        algorithms: [this.keys.algorithm as jwt.Algorithm],
        complete: true,
        issuer: this.issuer,
        audience: this.audience,
        clockTolerance: this.toleranceSeconds,
        clockTimestamp: nowSeconds,
      });
    } catch (error) {
      throw new InvalidTokenError(reasonOf(error), { cause: error });
    }
    const { header, payload } = decoded;
    checkHeaderRules(header as unknown as Record<string, unknown>);
    if (!isJsonObject(payload)) throw invalid('malformed', 'payload is not an object');
    return payload;
  }
}

/** A refusal with its reason for operators, and the detail of what failed as its cause. */
function invalid(reason: AccessTokenFailureReason, detail: string): InvalidTokenError {
  return new InvalidTokenError(reason, { cause: new Error(detail) });
}

/** The reason of a jsonwebtoken error: the one place its errors are translated. */
function reasonOf(error: unknown): AccessTokenFailureReason {
  if (error instanceof jwt.TokenExpiredError) return 'expired';
  if (error instanceof jwt.NotBeforeError) return 'not_yet_valid';
  const message = error instanceof Error ? error.message : '';
  if (message === 'invalid signature') return 'bad_signature';
  if (message === 'invalid algorithm') return 'wrong_algorithm';
  if (message.startsWith('jwt audience invalid')) return 'wrong_audience';
  if (message.startsWith('jwt issuer invalid')) return 'wrong_issuer';
  return 'malformed';
}

/** `AccessClaims` of a payload that passed every check. */
function toAccessClaims(payload: Record<string, unknown>): AccessClaims {
  const { sub, sid, jti, iat, exp, roles, scope, auth_time: authTime, amr } = payload as AccessTokenClaims;
  return {
    sub,
    sid,
    jti,
    iat,
    exp,
    roles: roles ?? [],
    scopes: scope ? scope.split(' ').filter(Boolean) : [],
    ...(authTime === undefined ? {} : { authTime }),
    amr: amr ?? [],
    claims: payload,
  };
}

/** Whether every claim is a primitive or an array of primitives: what `copyOf` copies fully. */
function isFlat(payload: Record<string, unknown>): boolean {
  for (const value of Object.values(payload)) {
    if (Array.isArray(value) ? !value.every(isPrimitive) : !isPrimitive(value)) return false;
  }
  return true;
}

function isPrimitive(value: unknown): boolean {
  return value === null || typeof value !== 'object';
}

/** A copy of a flat payload that shares nothing with it (its arrays are copied too). */
function copyOf(payload: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...payload };
  for (const name of Object.keys(copy)) {
    const value = copy[name];
    if (Array.isArray(value)) copy[name] = value.slice();
  }
  return copy;
}

/** A parsed JSON object: not null, not an array, not a primitive. */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

/** RFC 9068 §4: `at+jwt`, or the full media type `application/at+jwt`, in any letter case. */
/**
 * The header rules of both verification paths. `crit` names extensions that a verifier must
 * understand or refuse the token (RFC 7515, section 4.1.11); we implement none, so any `crit` is
 * refused, whatever it lists.
 */
function checkHeaderRules(header: Record<string, unknown>): void {
  if (!isAccessTokenType(header.typ)) throw invalid('wrong_type', 'typ is not at+jwt');
  if (header.crit !== undefined) throw invalid('unsupported_header', 'crit names extensions this verifier does not implement');
}

function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const type = typ.toLowerCase();
  return type === ACCESS_TOKEN_TYPE || type === `application/${ACCESS_TOKEN_TYPE}`;
}
