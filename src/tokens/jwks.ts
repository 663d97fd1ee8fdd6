import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ASYMMETRIC, isUsableKid, keyMisfit, type ResolvedKey, type ResolvedKeys } from '../config/access-token.js';
import { isObject } from '../json.js';

/** A public key as a JWKS publishes it (RFC 7517), with what a verifier needs to pin it. */
export interface PublicJwk extends JsonWebKey {
  kty: string;
  /** Absent for a key of the one-key options, whose tokens carry no `kid` either. */
  kid?: string;
  alg: string;
  use: 'sig';
}

/** A JSON Web Key Set: what `GET /jwks.json` answers. */
export interface JsonWebKeySet {
  keys: PublicJwk[];
}

/**
 * The public keys of a configuration, as a JWKS. HMAC secrets are never in it: a secret that
 * verifies also signs. A key Node cannot write as a JWK (an RSA-PSS-typed key) is left out.
 */
export function publicJwks(keys: ResolvedKeys): JsonWebKeySet {
  const published: PublicJwk[] = [];
  for (const key of keys.verifiers) {
    if (key.verifyingKey.type !== 'public') continue;
    let jwk: JsonWebKey;
    try {
      jwk = key.verifyingKey.export({ format: 'jwk' });
    } catch {
      continue;
    }
    published.push({ ...(jwk as PublicJwk), ...(key.kid === undefined ? {} : { kid: key.kid }), alg: key.algorithm, use: 'sig' });
  }
  return { keys: published };
}

/** The curve of a JWK that names its algorithm alone. */
const ALGORITHM_OF_CURVE: Readonly<Record<string, string>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512', Ed25519: 'EdDSA' };

/**
 * The keys of a fetched JWKS that verify tokens here, each pinned to one algorithm of
 * `algorithms`: its `alg`, or, when it names none, the one algorithm its curve allows (an RSA
 * key without `alg` only when `algorithms` holds a single RSA algorithm). Left out: keys without
 * a usable `kid` (1 to 256 printable ASCII characters), secrets (`oct`: a key from the network never signs here), keys
 * for another `use`, keys whose `key_ops` (RFC 7517 §4.3) do not include `verify`, keys of a
 * kind or size their algorithm does not fit, and a repeated `kid`
 * (the first key of a kid decides, usable or not: a later one never stands in for it). Throws
 * when the document is not a JWKS at all.
 */
export function keysOfJwks(document: unknown, algorithms: readonly string[]): ResolvedKey[] {
  if (!isObject(document) || !Array.isArray(document.keys)) throw new Error('the JWKS is not an object with a keys array');
  const keys = new Map<string, ResolvedKey>();
  const seen = new Set<string>();
  for (const jwk of document.keys as unknown[]) {
    if (!isObject(jwk)) continue;
    const { kid, kty, use, key_ops: operations, alg, crv } = jwk;
    if (!isUsableKid(kid) || seen.has(kid)) continue;
    seen.add(kid);
    if ((kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') || (use !== undefined && use !== 'sig')) continue;
    if (operations !== undefined && !(Array.isArray(operations) && operations.includes('verify'))) continue;
    let algorithm: string | undefined;
    if (alg !== undefined) algorithm = typeof alg === 'string' ? alg : undefined;
    else if (kty !== 'RSA') algorithm = typeof crv === 'string' ? ALGORITHM_OF_CURVE[crv] : undefined;
    else {
      const rsa = algorithms.filter((name) => /^(RS|PS)/.test(name));
      algorithm = rsa.length === 1 ? rsa[0] : undefined;
    }
    if (algorithm === undefined || !algorithms.includes(algorithm) || !ASYMMETRIC.includes(algorithm)) continue;
    let verifyingKey: KeyObject;
    try {
      // Only the public members: a JWKS that leaks a private key still gives a public key here.
      verifyingKey = createPublicKey({ key: publicMembers(jwk), format: 'jwk' });
    } catch {
      continue;
    }
    if (keyMisfit(verifyingKey, algorithm) === undefined) keys.set(kid, { kid, algorithm, verifyingKey });
  }
  return [...keys.values()];
}

function publicMembers(jwk: Record<string, unknown>): JsonWebKey {
  const { kty, n, e, crv, x, y } = jwk;
  if (kty === 'RSA') return { kty, n, e } as JsonWebKey;
  return (kty === 'OKP' ? { kty, crv, x } : { kty, crv, x, y }) as JsonWebKey;
}
