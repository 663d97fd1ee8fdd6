import { createPrivateKey, createPublicKey, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ConfigurationError, InvalidTokenError } from '../errors.js';
import { integerOption, parseDuration } from '../options.js';
import type { AccessTokenOptions, AsymmetricAlgorithm, AuthUser, KeyInput, SymmetricAlgorithm } from '../types.js';

/** The JOSE `typ` of our access tokens (RFC 9068): no other JWT signed with the same key passes. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** Claims that belong to the library; custom claims never override them (nor the payload's prototype). */
const RESERVED_CLAIMS = new Set(['sub', 'jti', 'sid', 'iat', 'exp', 'iss', 'aud', 'nbf', 'roles', 'scope', '__proto__']);

/** Longest `sub`, `sid` or `jti` accepted; the router refuses longer user ids at login. */
export const MAX_ID_LENGTH = 256;

const SYMMETRIC: readonly string[] = ['HS256', 'HS384', 'HS512'] satisfies SymmetricAlgorithm[];
const CURVES: Partial<Record<AsymmetricAlgorithm, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
const ASYMMETRIC: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] satisfies AsymmetricAlgorithm[];

/** The verified claims we rely on; `claims` holds all of them. */
export interface AccessClaims {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  roles: string[];
  scopes: string[];
  claims: Record<string, unknown>;
}

export interface SignedAccessToken {
  token: string;
  jti: string;
  /** Lifetime in seconds, as sent in the token response. */
  expiresIn: number;
}

interface ResolvedKeys {
  algorithm: string;
  signingKey?: KeyObject;
  verifyingKey: KeyObject;
}

/**
 * Signs and verifies access tokens. Key material is turned into `KeyObject`s once, here, so no
 * request pays for parsing a PEM or a string secret (jsonwebtoken would, on every call).
 */
export class AccessTokens {
  readonly lifetimeSeconds: number;
  private readonly keys: ResolvedKeys;
  private readonly issuer?: string;
  private readonly audience?: string;
  private readonly toleranceSeconds: number;

  constructor(options: AccessTokenOptions, purpose: 'sign' | 'verify', optionName = 'accessToken') {
    if (!options || typeof options !== 'object') throw new ConfigurationError(optionName, 'is required');
    this.keys = resolveKeys(options, purpose, optionName);
    this.lifetimeSeconds = parseDuration(options.expiresIn ?? '15m', `${optionName}.expiresIn`);
    this.toleranceSeconds = integerOption(options.clockToleranceSeconds, 5, `${optionName}.clockToleranceSeconds`, 0, 300);
    this.issuer = optionalString(options.issuer, `${optionName}.issuer`);
    this.audience = optionalString(options.audience, `${optionName}.audience`);
  }

  sign(user: AuthUser, sessionId: string, nowMs: number): SignedAccessToken {
    const { signingKey, algorithm } = this.keys;
    if (!signingKey) throw new Error('AccessTokens: created for verifying only');
    const iat = Math.floor(nowMs / 1000);
    const jti = randomBytes(16).toString('base64url');
    const payload: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(user.claims ?? {})) {
      if (!RESERVED_CLAIMS.has(name)) payload[name] = value;
    }
    Object.assign(payload, { sub: user.id, sid: sessionId, jti, iat, exp: iat + this.lifetimeSeconds });
    if (this.issuer !== undefined) payload.iss = this.issuer;
    if (this.audience !== undefined) payload.aud = this.audience;
    if (user.roles?.length) payload.roles = user.roles;
    if (user.scopes?.length) payload.scope = user.scopes.join(' ');
    const token = jwt.sign(payload, signingKey, {
      algorithm: algorithm as jwt.Algorithm,
      header: { alg: algorithm, typ: ACCESS_TOKEN_TYPE },
    });
    return { token, jti, expiresIn: this.lifetimeSeconds };
  }

  /** Verifies signature and claims as SPEC §5 says; every failure is an `InvalidTokenError`. */
  verify(token: string, nowMs: number): AccessClaims {
    const nowSeconds = Math.floor(nowMs / 1000);
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
      const expired = error instanceof jwt.TokenExpiredError;
      throw new InvalidTokenError(expired ? 'The access token has expired.' : 'The access token is invalid.', { cause: error });
    }
    const { header, payload } = decoded;
    if (!isAccessTokenType(header.typ)) throw invalid('typ is not at+jwt');
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw invalid('payload is not an object');
    const { sub, sid, jti, iat, exp, roles, scope } = payload as Record<string, unknown>;
    if (typeof exp !== 'number' || typeof iat !== 'number') throw invalid('exp and iat must be numbers');
    if (iat > nowSeconds + this.toleranceSeconds) throw invalid('iat is in the future');
    if (nowSeconds - iat > this.lifetimeSeconds + this.toleranceSeconds) throw invalid('iat is older than the token lifetime');
    if (!isId(sub) || !isId(sid) || !isId(jti)) throw invalid('sub, sid and jti must be non-empty strings');
    if (roles !== undefined && !isStringArray(roles)) throw invalid('roles must be an array of strings');
    if (scope !== undefined && typeof scope !== 'string') throw invalid('scope must be a string');
    return {
      sub,
      sid,
      jti,
      iat,
      exp,
      roles: roles ?? [],
      scopes: scope ? scope.split(' ').filter(Boolean) : [],
      claims: payload as Record<string, unknown>,
    };
  }
}

function invalid(reason: string): InvalidTokenError {
  return new InvalidTokenError('The access token is invalid.', { cause: new Error(reason) });
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

/** RFC 9068 §4: `at+jwt`, or the full media type `application/at+jwt`, in any letter case. */
function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const type = typ.toLowerCase();
  return type === ACCESS_TOKEN_TYPE || type === `application/${ACCESS_TOKEN_TYPE}`;
}

export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function optionalString(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length > 0) return value;
  throw new ConfigurationError(option, 'must be a non-empty string');
}

function resolveKeys(options: AccessTokenOptions, purpose: 'sign' | 'verify', optionName: string): ResolvedKeys {
  const { secret, privateKey, publicKey } = options as { secret?: KeyInput; privateKey?: KeyInput; publicKey?: KeyInput };
  if (secret !== undefined) {
    if (privateKey !== undefined || publicKey !== undefined) {
      throw new ConfigurationError(optionName, 'takes either a secret or a key pair, not both');
    }
    const algorithm = options.algorithm ?? 'HS256';
    if (!SYMMETRIC.includes(algorithm)) {
      throw new ConfigurationError(`${optionName}.algorithm`, `must be one of ${SYMMETRIC.join(', ')} with a secret (got ${String(algorithm)})`);
    }
    const key = toSecretKey(secret, `${optionName}.secret`);
    return { algorithm, signingKey: key, verifyingKey: key };
  }

  const algorithm = options.algorithm;
  if (algorithm === undefined && privateKey === undefined && publicKey === undefined) {
    throw new ConfigurationError(`${optionName}.secret`, 'is required (or algorithm with privateKey/publicKey)');
  }
  if (typeof algorithm !== 'string' || !ASYMMETRIC.includes(algorithm)) {
    throw new ConfigurationError(`${optionName}.algorithm`, `must be one of ${ASYMMETRIC.join(', ')} with a key pair (got ${String(algorithm)})`);
  }
  let signingKey: KeyObject | undefined;
  if (privateKey !== undefined) {
    signingKey = toKey(privateKey, createPrivateKey, `${optionName}.privateKey`, 'private');
    checkKeyFits(signingKey, algorithm as AsymmetricAlgorithm, `${optionName}.privateKey`);
  } else if (purpose === 'sign') {
    throw new ConfigurationError(`${optionName}.privateKey`, `is required to sign ${algorithm} tokens`);
  }
  let verifyingKey: KeyObject;
  if (publicKey !== undefined) {
    verifyingKey = toKey(publicKey, createPublicKey, `${optionName}.publicKey`, 'public');
    checkKeyFits(verifyingKey, algorithm as AsymmetricAlgorithm, `${optionName}.publicKey`);
  } else if (signingKey) {
    verifyingKey = createPublicKey(signingKey);
  } else {
    throw new ConfigurationError(`${optionName}.publicKey`, `is required to verify ${algorithm} tokens`);
  }
  return { algorithm, signingKey, verifyingKey };
}

function toSecretKey(secret: KeyInput, option: string): KeyObject {
  let key: KeyObject;
  if (typeof secret === 'string') key = createSecretKey(Buffer.from(secret, 'utf8'));
  else if (Buffer.isBuffer(secret)) key = createSecretKey(Buffer.from(secret));
  else if (secret && typeof secret === 'object' && (secret as KeyObject).type === 'secret') key = secret as KeyObject;
  else throw new ConfigurationError(option, 'must be a string, a Buffer or a secret KeyObject');
  if ((key.symmetricKeySize ?? 0) < 32) throw new ConfigurationError(option, 'must be at least 32 bytes (256 bits) long');
  return key;
}

function toKey(input: KeyInput, create: (input: string | Buffer) => KeyObject, option: string, type: 'private' | 'public'): KeyObject {
  try {
    const key = typeof input === 'string' || Buffer.isBuffer(input) ? create(input) : input;
    if (key.type !== type) throw new Error(`not a ${type} key`);
    return key;
  } catch (error) {
    throw new ConfigurationError(option, `is not a usable ${type} key (${(error as Error).message})`);
  }
}

function checkKeyFits(key: KeyObject, algorithm: AsymmetricAlgorithm, option: string): void {
  const details = key.asymmetricKeyDetails ?? {};
  if (algorithm.startsWith('ES')) {
    if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== CURVES[algorithm]) {
      throw new ConfigurationError(option, `must be an EC key on ${CURVES[algorithm]} for ${algorithm}`);
    }
    return;
  }
  const rsaType = algorithm.startsWith('PS') ? ['rsa', 'rsa-pss'] : ['rsa'];
  if (!rsaType.includes(key.asymmetricKeyType ?? '')) throw new ConfigurationError(option, `must be an RSA key for ${algorithm}`);
  if ((details.modulusLength ?? 0) < 2048) throw new ConfigurationError(option, `must be an RSA key of at least 2048 bits (got ${details.modulusLength})`);
}
