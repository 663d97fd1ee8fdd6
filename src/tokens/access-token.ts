import { createHmac, randomBytes, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { AccessTokenClaims } from '../client/types.js';
import type { ResolvedAccessTokenOptions, ResolvedKey } from '../config/access-token.js';
import { InvalidTokenError, type AccessTokenFailureReason } from '../errors.js';
import { isObject, isStringArray } from '../json.js';
import type { AuthUser } from '../types.js';
import { isInFuture, timeClaimFailure } from './time-claims.js';

/** The JOSE `typ` of our access tokens (RFC 9068): no other JWT signed with the same key passes. */
const ACCESS_TOKEN_TYPE = 'at+jwt';

/** Claims that belong to the library; custom claims never override them (nor the payload's prototype). */
const RESERVED_CLAIMS = new Set([
  'sub',
  'jti',
  'sid',
  'iat',
  'exp',
  'iss',
  'aud',
  'nbf',
  'roles',
  'scope',
  'auth_time',
  'amr',
  '__proto__',
]);

/** Longest `sub`, `sid` or `jti` accepted; the router refuses longer user ids at login. */
export const MAX_ID_LENGTH = 256;

const HMAC_HASHES: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/**
 * A JWS in compact serialisation as jws (under jsonwebtoken) accepts it: three base64url
 * segments, header and payload non-empty. No padding, no `+` or `/`, no whitespace.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Whether a token has the compact JWS form, three base64url segments (as jws requires). */
export function isCompactJws(token: unknown): token is string {
  return typeof token === 'string' && COMPACT_JWS.test(token);
}

/** The largest `clockToleranceSeconds` accepted: a token may pass this long after its `exp`. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/** How many verified tokens an `AccessTokens` with `cacheVerified` keeps (the oldest goes first). */
export const VERIFIED_TOKEN_CACHE_SIZE = 1000;

/**
 * Once the cache is full, one new token in this many is kept, in place of the oldest. Keeping
 * every one would cost each miss a copy of its claims and an eviction, and a process that sees
 * more distinct tokens than the cache holds, in turn, would evict each before its next use; kept
 * more rarely, a token stays for this many times longer, long enough to be used again.
 */
export const VERIFIED_TOKEN_ADMIT_ONE_IN = 8;

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

/** A token `sign` made. */
export interface SignedAccessToken {
  token: string;
  /** Lifetime in seconds, as sent in the token response. */
  expiresIn: number;
}

/** The time claims of a kept payload: checked numbers, `nbf` when the token has one. */
type TimeClaims = { nbf?: number; exp: number; iat: number };

/** A token that passed every check, and its payload, kept for `cacheVerified`. */
interface VerifiedToken {
  token: string;
  payload: Record<string, unknown>;
}

/** A verifying key, prepared once: what `verify` needs of it on every token. */
interface Verifier {
  key: ResolvedKey;
  /** The signature check of the algorithms verified here (HS*, EdDSA); absent for those jsonwebtoken verifies. */
  check?: SignatureCheck;
  /** The header segment that `sign` writes with this key, and its dot: tokens that start with it skip header parsing. */
  headerPrefix: string;
}

/**
 * Signs and verifies access tokens with keys that the options resolved into `KeyObject`s once,
 * so no request pays for parsing a PEM or a string secret (jsonwebtoken would, on every call).
 *
 * Every token goes through the same steps, whatever its key (README "requireAccessToken(options)"
 * and "Keys and other services"): the compact form; the key, chosen by the header's `kid` in a
 * key set (never from `jku`, `x5u` or `jwk`); the header rules, with the token's `alg` equal to
 * that key's algorithm; the signature; the claims. HS256/384/512 signatures are checked here,
 * without jsonwebtoken (which decodes and splits the token several times, and copies its options,
 * on every call), and so are EdDSA ones (which jsonwebtoken lacks), with Node's crypto; the other
 * asymmetric ones through `jwt.verify` with that one key and algorithm.
 * `createAccessTokenVerifier` verifies through this class too, with the keys of a JWKS.
 */
export class AccessTokens {
  readonly lifetimeSeconds: number;
  private readonly signer?: ResolvedKey;
  private readonly verifiers: readonly Verifier[];
  /** Key set only: the verifiers by `kid`. */
  private readonly byKid?: ReadonlyMap<string, Verifier>;
  private readonly issuer?: string;
  private readonly audience?: string;
  readonly toleranceSeconds: number;
  /**
   * Verified tokens by their signature segment (see `cacheVerified`); only flat payloads. A hit
   * is the whole token string equal to the one kept: keyed by the segment, each request hashes
   * 43 characters for HS256 (86 for ES256, a few hundred for RSA) instead of the whole token.
   */
  private readonly verified?: Map<string, VerifiedToken>;
  /** Tokens verified while the cache was full: every `VERIFIED_TOKEN_ADMIT_ONE_IN`th is kept. */
  private missesWhileFull = 0;

  /**
   * @param cacheVerified keep the payloads of up to {@link VERIFIED_TOKEN_CACHE_SIZE} verified
   * tokens (once full, one new token in {@link VERIFIED_TOKEN_ADMIT_ONE_IN}), so a token
   * presented again skips the signature check and parsing; its time claims are checked again on
   * every use, and it is dropped once it fails them. Only for callers that check no revocation
   * with the store, or check it apart from the signature (the in-memory view of
   * `revocation: 'cached'`): a token's signature never changes, its revocation can.
   */
  constructor(options: ResolvedAccessTokenOptions, { cacheVerified = false } = {}) {
    const { keys } = options;
    this.signer = keys.signer;
    this.lifetimeSeconds = options.lifetimeSeconds;
    this.toleranceSeconds = options.toleranceSeconds;
    this.issuer = options.issuer;
    this.audience = options.audience;
    this.verifiers = keys.verifiers.map((key) => ({
      key,
      check: signatureCheckOf(key),
      headerPrefix: `${Buffer.from(JSON.stringify(headerOf(key))).toString('base64url')}.`,
    }));
    if (keys.byKid) this.byKid = new Map(this.verifiers.map((verifier) => [verifier.key.kid!, verifier]));
    if (cacheVerified) this.verified = new Map();
  }

  sign(user: AuthUser, sessionId: string, signIn: SignIn, nowMs: number): SignedAccessToken {
    const signer = this.signer;
    if (!signer?.signingKey) throw new Error('AccessTokens: created for verifying only');
    const iat = Math.floor(nowMs / 1000);
    const jti = randomBytes(16).toString('base64url');
    const payload: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(user.claims ?? {})) {
      if (!RESERVED_CLAIMS.has(name)) payload[name] = value;
    }
    Object.assign(payload, {
      sub: user.id,
      sid: sessionId,
      jti,
      iat,
      exp: iat + this.lifetimeSeconds,
      auth_time: Math.floor(signIn.authTime / 1000),
    });
    if (signIn.amr.length) payload.amr = signIn.amr;
    if (this.issuer !== undefined) payload.iss = this.issuer;
    if (this.audience !== undefined) payload.aud = this.audience;
    if (user.roles?.length) payload.roles = user.roles;
    if (user.scopes?.length) payload.scope = user.scopes.join(' ');
    const token =
      signer.algorithm === 'EdDSA'
        ? signEd25519(headerOf(signer), payload, signer.signingKey)
        : jwt.sign(payload, signer.signingKey, { algorithm: signer.algorithm as jwt.Algorithm, header: headerOf(signer) as jwt.JwtHeader });
    return { token, expiresIn: this.lifetimeSeconds };
  }

  /** Verifies signature and claims as the README ("requireAccessToken(options)") says; every failure is an `InvalidTokenError`. */
  verify(token: string, nowMs: number): AccessClaims {
    const nowSeconds = Math.floor(nowMs / 1000);
    const verified = this.verified;
    // Not a string: only JavaScript callers of verifyAccessToken can pass one, and isCompactJws refuses it.
    if (verified !== undefined && typeof token === 'string') {
      const cached = verified.get(signatureOf(token));
      if (cached !== undefined && cached.token === token) return this.reuse(cached, nowSeconds);
    }
    if (!isCompactJws(token)) throw invalid('malformed', 'not a compact JWS of three base64url segments');
    const verifier = this.verifierOf(token);
    const payload =
      verifier.check === undefined
        ? this.verifyWithJsonwebtoken(verifier.key, token, nowSeconds)
        : this.verifyOwn(verifier.check, token, nowSeconds);
    const { sub, sid, jti, iat, exp, roles, scope, auth_time: authTime, amr } = payload;
    if (typeof exp !== 'number' || typeof iat !== 'number') throw invalid('bad_claims', 'exp and iat must be numbers');
    // `nbf` and `exp` were checked with the signature (as jwt.verify orders them); `iat` now.
    const failure = timeClaimFailure({ iat }, nowSeconds, this);
    if (failure) throw invalid(failure, 'iat is in the future, or older than the token lifetime');
    if (!isId(sub) || !isId(sid) || !isId(jti)) throw invalid('bad_claims', 'sub, sid and jti must be non-empty strings');
    if (roles !== undefined && !isStringArray(roles)) throw invalid('bad_claims', 'roles must be an array of strings');
    if (scope !== undefined && typeof scope !== 'string') throw invalid('bad_claims', 'scope must be a string');
    if (authTime !== undefined && (typeof authTime !== 'number' || isInFuture(authTime, nowSeconds, this.toleranceSeconds))) {
      throw invalid('bad_claims', 'auth_time must be a number, not in the future');
    }
    if (amr !== undefined && !isStringArray(amr)) throw invalid('bad_claims', 'amr must be an array of strings');
    if (verified === undefined || !isFlat(payload) || !this.makeRoom(verified, nowSeconds)) return toAccessClaims(payload);
    verified.set(signatureOf(token), { token, payload });
    // The kept payload is never handed out: each request gets its own copy to change at will.
    return toAccessClaims(copyOf(payload));
  }

  /**
   * Whether a token just verified is kept, making room for it when the cache is full. Tokens
   * whose time claims no longer hold go first, from the oldest end, where they gather (kept
   * first, they expire first): a client refreshes before its token expires and never presents
   * the old one again, and such tokens must not hold the places of live ones, or a process with
   * few users would keep only one new token in 8. Then one new token in
   * `VERIFIED_TOKEN_ADMIT_ONE_IN` takes the place of the oldest.
   */
  private makeRoom(verified: Map<string, VerifiedToken>, nowSeconds: number): boolean {
    if (verified.size < VERIFIED_TOKEN_CACHE_SIZE) return true;
    for (const [signature, oldest] of verified) {
      if (!timeClaimFailure(oldest.payload as TimeClaims, nowSeconds, this)) break;
      verified.delete(signature);
    }
    if (verified.size < VERIFIED_TOKEN_CACHE_SIZE) return true;
    if (++this.missesWhileFull % VERIFIED_TOKEN_ADMIT_ONE_IN !== 0) return false;
    verified.delete(verified.keys().next().value!);
    return true;
  }

  /**
   * A token verified before: the same string, so the same signature, header and claims. Only
   * what time changes is checked again (`nbf`, `exp`, `iat`), exactly as on the first use.
   */
  private reuse({ token, payload }: VerifiedToken, nowSeconds: number): AccessClaims {
    const failure = timeClaimFailure(payload as TimeClaims, nowSeconds, this);
    if (failure) {
      this.verified!.delete(signatureOf(token));
      throw invalid(failure, 'a time claim no longer holds');
    }
    return toAccessClaims(copyOf(payload));
  }

  /**
   * The key that verifies a token, its header checked. A header that is one we sign, byte for
   * byte, needs no parsing. Any other must parse (as jws does, latin1) to an object; in a key set
   * its `kid`, when it has one, must name a configured key (the one-key options ignore `kid`);
   * its `alg` must be that key's algorithm, compared exactly; and it must pass
   * `checkHeaderRules`. Nothing else in the header (`jku`, `x5u`, `jwk`, `x5c`) is ever read.
   */
  private verifierOf(token: string): Verifier {
    for (const verifier of this.verifiers) {
      if (token.startsWith(verifier.headerPrefix)) return verifier;
    }
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('latin1'));
    } catch (error) {
      throw new InvalidTokenError('malformed', { cause: error });
    }
    if (!isObject(header)) throw invalid('malformed', 'the header is not an object');
    let verifier: Verifier | undefined = this.verifiers[0];
    // In a key set, a token without a kid is the first key's: what a one-key configuration signed
    // before its key moved into `keys` (README "Keys and other services", rotation).
    if (this.byKid && header.kid !== undefined) {
      // A Map lookup by the exact string: a kid is never a path, a query or a URL here.
      verifier = typeof header.kid === 'string' ? this.byKid.get(header.kid) : undefined;
    }
    if (verifier === undefined) throw invalid('unknown_key', 'kid names no configured key');
    if (header.alg !== verifier.key.algorithm) throw invalid('wrong_algorithm', "alg is not the algorithm of the token's key");
    checkHeaderRules(header);
    return verifier;
  }

  /**
   * HS256/384/512 and EdDSA without jsonwebtoken, by the same rules: the signature (see
   * `signatureCheckOf`); a payload that is a JSON object; then `nbf`, `exp`, `aud` and `iss` as
   * `jwt.verify` checks them.
   */
  private verifyOwn(check: SignatureCheck, token: string, nowSeconds: number): Record<string, unknown> {
    const headerEnd = token.indexOf('.');
    const payloadEnd = token.indexOf('.', headerEnd + 1);
    if (!check(token.slice(0, payloadEnd), token.slice(payloadEnd + 1))) throw invalid('bad_signature', 'invalid signature');
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(token.slice(headerEnd + 1, payloadEnd), 'base64url').toString('utf8'));
    } catch (error) {
      throw new InvalidTokenError('malformed', { cause: error });
    }
    if (!isObject(payload)) throw invalid('malformed', 'payload is not an object');
    const { nbf, exp, aud, iss } = payload;
    if ((nbf !== undefined && typeof nbf !== 'number') || (exp !== undefined && typeof exp !== 'number'))
      throw invalid('bad_claims', 'nbf and exp must be numbers');
    const failure = timeClaimFailure({ nbf, exp }, nowSeconds, this);
    if (failure) throw invalid(failure, 'nbf is in the future, or the token expired');
    if (this.audience !== undefined && aud !== this.audience && !(Array.isArray(aud) && aud.includes(this.audience)))
      throw invalid('wrong_audience', 'aud does not match');
    if (this.issuer !== undefined && iss !== this.issuer) throw invalid('wrong_issuer', 'iss does not match');
    return payload;
  }

  /** The asymmetric algorithms: jsonwebtoken checks the signature with this one key and algorithm, `nbf`, `exp`, `aud` and `iss`. */
  private verifyWithJsonwebtoken(key: ResolvedKey, token: string, nowSeconds: number): Record<string, unknown> {
    let payload: unknown;
    try {
      payload = jwt.verify(token, key.verifyingKey, {
        algorithms: [key.algorithm as jwt.Algorithm],
        issuer: this.issuer,
        audience: this.audience,
        clockTolerance: this.toleranceSeconds,
        clockTimestamp: nowSeconds,
      });
    } catch (error) {
      throw new InvalidTokenError(reasonOf(error), { cause: error });
    }
    if (!isObject(payload)) throw invalid('malformed', 'payload is not an object');
    return payload;
  }
}

/** The signature segment of a token (the whole string when it has no dot): the cache's key. */
function signatureOf(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}

/** Whether a signature segment is right for a signing input. */
type SignatureCheck = (signingInput: string, signature: string) => boolean;

/**
 * The signature checks done here. HMAC: the HMAC of the signing input, base64url-encoded, equal
 * to the signature segment in constant time. EdDSA (Ed25519, RFC 8037): Node's `crypto.verify`
 * with no digest, as Ed25519 requires, on the 64 bytes of a segment of exactly 86 characters
 * that is their canonical spelling. Either way a signature written another way (padding, other
 * trailing bits) is refused, as jws refuses it. The others go through jsonwebtoken.
 */
function signatureCheckOf(key: ResolvedKey): SignatureCheck | undefined {
  const hash = HMAC_HASHES[key.algorithm];
  if (hash !== undefined) {
    return (input, signature) => {
      const expected = createHmac(hash, key.verifyingKey).update(input).digest('base64url');
      // Both are ASCII (COMPACT_JWS, base64url): latin1 is exact, and the lengths are public.
      return signature.length === expected.length && timingSafeEqual(Buffer.from(signature, 'latin1'), Buffer.from(expected, 'latin1'));
    };
  }
  if (key.algorithm !== 'EdDSA') return undefined;
  return (input, signature) => {
    if (signature.length !== ED25519_SIGNATURE_LENGTH) return false;
    const bytes = Buffer.from(signature, 'base64url');
    return bytes.toString('base64url') === signature && cryptoVerify(null, Buffer.from(input, 'utf8'), key.verifyingKey, bytes);
  };
}

/** An Ed25519 signature (64 bytes) in base64url, unpadded. */
const ED25519_SIGNATURE_LENGTH = 86;

/** A compact JWS signed with Ed25519 (jsonwebtoken has no EdDSA): the same header and payload JSON that `jwt.sign` writes. */
function signEd25519(header: object, payload: object, key: KeyObject): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${cryptoSign(null, Buffer.from(input, 'utf8'), key).toString('base64url')}`;
}

/** The JOSE header of every token a key signs; the one-key options name no `kid`. */
function headerOf(key: ResolvedKey): { alg: string; typ: string; kid?: string } {
  return key.kid === undefined
    ? { alg: key.algorithm, typ: ACCESS_TOKEN_TYPE }
    : { alg: key.algorithm, typ: ACCESS_TOKEN_TYPE, kid: key.kid };
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

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

/**
 * The header rules of both verification paths. `crit` names extensions that a verifier must
 * understand or refuse the token (RFC 7515, section 4.1.11); we implement none, so any `crit` is
 * refused, whatever it lists.
 */
function checkHeaderRules(header: Record<string, unknown>): void {
  if (!isAccessTokenType(header.typ)) throw invalid('wrong_type', 'typ is not at+jwt');
  if (header.crit !== undefined) throw invalid('unsupported_header', 'crit names extensions this verifier does not implement');
}

/** RFC 9068 §4: `at+jwt`, or the full media type `application/at+jwt`, in any letter case. */
function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const type = typ.toLowerCase();
  return type === ACCESS_TOKEN_TYPE || type === `application/${ACCESS_TOKEN_TYPE}`;
}
