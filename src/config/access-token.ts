import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { ConfigurationError } from '../errors.js';
import { MAX_CLOCK_TOLERANCE_SECONDS } from '../tokens/access-token.js';
import { isPublishedSecret } from './published-secrets.js';
import type { AccessTokenOptions, AsymmetricAlgorithm, KeyInput, SymmetricAlgorithm } from '../types.js';
import { DEFAULTS } from './defaults.js';
import { durationOption, integerOption, optionalString } from './values.js';

const SYMMETRIC: readonly string[] = ['HS256', 'HS384', 'HS512'] satisfies SymmetricAlgorithm[];
const CURVES: Partial<Record<AsymmetricAlgorithm, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
const ASYMMETRIC: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] satisfies AsymmetricAlgorithm[];

/** The names of the access-token options, for the groups that take them. */
export const ACCESS_TOKEN_OPTION_NAMES = ['secret', 'algorithm', 'privateKey', 'publicKey', 'expiresIn', 'issuer', 'audience', 'clockToleranceSeconds'] as const;

/** Key material turned into `KeyObject`s once, so no request pays for parsing a PEM or a string. */
export interface ResolvedKeys {
  algorithm: string;
  /** Absent when only verifying with a public key. */
  signingKey?: KeyObject;
  verifyingKey: KeyObject;
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
export function resolveAccessTokenOptions(options: AccessTokenOptions | undefined, purpose: 'sign' | 'verify', name: string): ResolvedAccessTokenOptions {
  if (!options || typeof options !== 'object') throw new ConfigurationError(name, 'is required: { secret } or { algorithm, privateKey, publicKey }');
  return {
    keys: resolveKeys(options, purpose, name),
    lifetimeSeconds: durationOption(options.expiresIn, DEFAULTS.accessToken.expiresIn, `${name}.expiresIn`),
    toleranceSeconds: integerOption(options.clockToleranceSeconds, DEFAULTS.accessToken.clockToleranceSeconds, `${name}.clockToleranceSeconds`, 0, MAX_CLOCK_TOLERANCE_SECONDS),
    issuer: optionalString(options.issuer, `${name}.issuer`),
    audience: optionalString(options.audience, `${name}.audience`),
  };
}

function resolveKeys(options: AccessTokenOptions, purpose: 'sign' | 'verify', name: string): ResolvedKeys {
  const { secret, privateKey, publicKey } = options as { secret?: KeyInput; privateKey?: KeyInput; publicKey?: KeyInput };
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
    checkKeyFits(signingKey, algorithm as AsymmetricAlgorithm, `${name}.privateKey`);
  } else if (purpose === 'sign') {
    throw new ConfigurationError(`${name}.privateKey`, `is required to sign ${algorithm} tokens`);
  }
  let verifyingKey: KeyObject;
  if (publicKey !== undefined) {
    verifyingKey = toKey(publicKey, createPublicKey, `${name}.publicKey`, 'public');
    checkKeyFits(verifyingKey, algorithm as AsymmetricAlgorithm, `${name}.publicKey`);
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
    throw new ConfigurationError(option, "is a secret this package's README or examples published: anyone can forge tokens with it. Use one of your own (`openssl rand -base64 32`)");
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
