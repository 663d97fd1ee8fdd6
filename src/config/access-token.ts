import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { ConfigurationError } from '../errors.js';
import { MAX_CLOCK_TOLERANCE_SECONDS } from '../tokens/access-token.js';
import { isPublishedSecret } from './published-secrets.js';
import type { AccessTokenOptions, AsymmetricAlgorithm, KeyInput, SymmetricAlgorithm } from '../types.js';
import { DEFAULTS } from './defaults.js';
import { durationOption, groupOption, integerOption, knownNames, optionalString } from './values.js';

export const SYMMETRIC: readonly string[] = ['HS256', 'HS384', 'HS512'] satisfies SymmetricAlgorithm[];
const CURVES: Partial<Record<AsymmetricAlgorithm, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
export const ASYMMETRIC: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] satisfies AsymmetricAlgorithm[];

/** The names of the access-token options, for the groups that take them. */
export const ACCESS_TOKEN_OPTION_NAMES = [
  'secret',
  'algorithm',
  'privateKey',
  'publicKey',
  'keys',
  'expiresIn',
  'issuer',
  'audience',
  'clockToleranceSeconds',
] as const;
const KEY_OPTION_NAMES = ['kid', 'secret', 'privateKey', 'publicKey', 'algorithm'] as const;
/** Longest `kid` accepted, in configuration and in a JWKS. */
export const MAX_KID_LENGTH = 256;

/**
 * A `kid` we accept, in configuration and in a JWKS: 1 to 256 printable ASCII characters. A token's
 * header is read as latin1 (as jws reads it), so a kid outside ASCII would match our own tokens
 * but not the same kid written by another library's encoder.
 */
export function isUsableKid(kid: unknown): kid is string {
  return typeof kid === 'string' && kid.length > 0 && kid.length <= MAX_KID_LENGTH && /^[\x20-\x7e]+$/.test(kid);
}

/** One key, its material turned into `KeyObject`s once, so no request pays for parsing a PEM or a string. */
export interface ResolvedKey {
  /** Absent for the one-key options (`secret`, `privateKey`, `publicKey` without `keys`). */
  kid?: string;
  algorithm: string;
  /** Absent when only verifying with a public key. */
  signingKey?: KeyObject;
  verifyingKey: KeyObject;
}

/** The keys of an access-token configuration. */
export interface ResolvedKeys {
  /** The key that signs: the first that can. Absent when verifying only. */
  signer?: ResolvedKey;
  /**
   * The keys that verify. With `byKid`, a token must name one of them in its `kid`; without,
   * there is exactly one, and a token's `kid` is not looked at (the one-key options).
   */
  verifiers: readonly ResolvedKey[];
  byKid: boolean;
}

/** The access-token options, checked, with their defaults applied. */
export interface ResolvedAccessTokenOptions {
  keys: ResolvedKeys;
  lifetimeSeconds: number;
  toleranceSeconds: number;
  issuer?: string;
  audience?: string;
}

/**
 * Resolves the access-token options. `purpose: 'sign'` needs a private key (or a secret);
 * `'verify'` a public key, or a private key to derive it from. `name` prefixes the option names
 * in errors: `accessToken`, or `requireAccessToken` for the standalone middleware.
 */
export function resolveAccessTokenOptions(
  options: AccessTokenOptions | undefined,
  purpose: 'sign' | 'verify',
  name: string,
): ResolvedAccessTokenOptions {
  if (!options || typeof options !== 'object')
    throw new ConfigurationError(name, 'is required: { secret }, { algorithm, privateKey, publicKey } or { keys }');
  return {
    keys: options.keys === undefined ? oneKey(options, purpose, name) : resolveKeySet(options, purpose, name),
    ...resolveClaimOptions(options, name),
  };
}

/** The options every verifier of our tokens has, whatever its keys: lifetime, clock tolerance, `iss` and `aud`. */
export function resolveClaimOptions(
  options: Pick<AccessTokenOptions, 'expiresIn' | 'clockToleranceSeconds' | 'issuer' | 'audience'>,
  name: string,
): Omit<ResolvedAccessTokenOptions, 'keys'> {
  return {
    lifetimeSeconds: durationOption(options.expiresIn, DEFAULTS.accessToken.expiresIn, `${name}.expiresIn`),
    toleranceSeconds: integerOption(
      options.clockToleranceSeconds,
      DEFAULTS.accessToken.clockToleranceSeconds,
      `${name}.clockToleranceSeconds`,
      0,
      MAX_CLOCK_TOLERANCE_SECONDS,
    ),
    issuer: optionalString(options.issuer, `${name}.issuer`),
    audience: optionalString(options.audience, `${name}.audience`),
  };
}

function oneKey(options: AccessTokenOptions, purpose: 'sign' | 'verify', name: string): ResolvedKeys {
  const key = resolveKey(options as KeyMaterial, purpose, name);
  return { signer: key.signingKey ? key : undefined, verifiers: [key], byKid: false };
}

/** `keys`: each key resolved as the one-key options are, under its own name (`accessToken.keys[1]`). */
function resolveKeySet(options: AccessTokenOptions, purpose: 'sign' | 'verify', name: string): ResolvedKeys {
  const { keys, secret, privateKey, publicKey } = options as { keys: unknown; secret?: unknown; privateKey?: unknown; publicKey?: unknown };
  if (secret !== undefined || privateKey !== undefined || publicKey !== undefined) {
    throw new ConfigurationError(`${name}.keys`, 'replaces secret, privateKey and publicKey: give the keys in it only');
  }
  if (!Array.isArray(keys) || keys.length === 0)
    throw new ConfigurationError(`${name}.keys`, 'must be a non-empty array of { kid, secret | privateKey | publicKey, algorithm? }');
  const verifiers: ResolvedKey[] = [];
  const kids = new Set<string>();
  keys.forEach((entry: unknown, index) => {
    const option = `${name}.keys[${index}]`;
    const group = groupOption(entry, option);
    if (entry === undefined) throw new ConfigurationError(option, 'must be an object');
    knownNames(group, KEY_OPTION_NAMES, `${option}.`);
    const { kid } = group;
    if (!isUsableKid(kid)) {
      throw new ConfigurationError(`${option}.kid`, `must be a string of 1 to ${MAX_KID_LENGTH} printable ASCII characters`);
    }
    if (kids.has(kid)) throw new ConfigurationError(`${option}.kid`, `repeats the kid ${JSON.stringify(kid)}: each key needs its own`);
    kids.add(kid);
    const algorithm = group.algorithm ?? options.algorithm;
    verifiers.push({ kid, ...resolveKey({ ...group, algorithm } as KeyMaterial, 'verify', option) });
  });
  const signer = verifiers.find((key) => key.signingKey !== undefined);
  if (purpose === 'sign' && !signer)
    throw new ConfigurationError(`${name}.keys`, 'needs a key that can sign: one with a secret or a privateKey');
  return { signer, verifiers, byKid: true };
}

interface KeyMaterial {
  secret?: KeyInput;
  privateKey?: KeyInput;
  publicKey?: KeyInput;
  algorithm?: string;
}

/** One key: the one-key options, or an entry of `keys` (`name` is then `accessToken.keys[i]`). */
function resolveKey(options: KeyMaterial, purpose: 'sign' | 'verify', name: string): ResolvedKey {
  const { secret, privateKey, publicKey } = options;
  if (secret !== undefined) {
    if (privateKey !== undefined || publicKey !== undefined) {
      throw new ConfigurationError(name, 'takes either a secret or a key pair, not both');
    }
    const algorithm = options.algorithm ?? DEFAULTS.accessToken.algorithm;
    if (!SYMMETRIC.includes(algorithm)) {
      throw new ConfigurationError(`${name}.algorithm`, `must be one of ${SYMMETRIC.join(', ')} with a secret (got ${String(algorithm)})`);
    }
    const key = toSecretKey(secret, `${name}.secret`);
    return { algorithm, signingKey: key, verifyingKey: key };
  }

  const algorithm = options.algorithm;
  if (algorithm === undefined && privateKey === undefined && publicKey === undefined) {
    throw new ConfigurationError(`${name}.secret`, 'is required (or algorithm with privateKey/publicKey)');
  }
  if (typeof algorithm !== 'string' || !ASYMMETRIC.includes(algorithm)) {
    throw new ConfigurationError(`${name}.algorithm`, `must be one of ${ASYMMETRIC.join(', ')} with a key pair (got ${String(algorithm)})`);
  }
  let signingKey: KeyObject | undefined;
  if (privateKey !== undefined) {
    signingKey = toKey(privateKey, createPrivateKey, `${name}.privateKey`, 'private');
    checkKeyFits(signingKey, algorithm, `${name}.privateKey`);
  } else if (purpose === 'sign') {
    throw new ConfigurationError(`${name}.privateKey`, `is required to sign ${algorithm} tokens`);
  }
  let verifyingKey: KeyObject;
  if (publicKey !== undefined) {
    verifyingKey = toKey(publicKey, createPublicKey, `${name}.publicKey`, 'public');
    checkKeyFits(verifyingKey, algorithm, `${name}.publicKey`);
  } else if (signingKey) {
    verifyingKey = createPublicKey(signingKey);
  } else {
    throw new ConfigurationError(`${name}.publicKey`, `is required to verify ${algorithm} tokens`);
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
  if (isPublishedSecret(key.export())) {
    throw new ConfigurationError(
      option,
      "is a secret this package's README or examples published: anyone can forge tokens with it. Use one of your own (`openssl rand -base64 32`)",
    );
  }
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

function checkKeyFits(key: KeyObject, algorithm: string, option: string): void {
  const problem = keyMisfit(key, algorithm);
  if (problem) throw new ConfigurationError(option, problem);
}

/** Why an asymmetric key cannot serve an algorithm, or `undefined` when it can. */
export function keyMisfit(key: KeyObject, algorithm: string): string | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  if (!ASYMMETRIC.includes(algorithm)) return `is not for an asymmetric algorithm (got ${algorithm})`;
  if (algorithm === 'EdDSA') return key.asymmetricKeyType === 'ed25519' ? undefined : 'must be an Ed25519 key for EdDSA';
  if (algorithm.startsWith('ES')) {
    const curve = CURVES[algorithm as AsymmetricAlgorithm];
    return key.asymmetricKeyType !== 'ec' || details.namedCurve !== curve ? `must be an EC key on ${curve} for ${algorithm}` : undefined;
  }
  const rsaType = algorithm.startsWith('PS') ? ['rsa', 'rsa-pss'] : ['rsa'];
  if (!rsaType.includes(key.asymmetricKeyType ?? '')) return `must be an RSA key for ${algorithm}`;
  if ((details.modulusLength ?? 0) < 2048) return `must be an RSA key of at least 2048 bits (got ${details.modulusLength})`;
  return undefined;
}
