import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { SECRET } from './app.js';

export const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWS built by hand, so tests can make tokens that jsonwebtoken would refuse to sign. */
export function forge(header: Record<string, unknown>, payload: unknown, key: string | Buffer = SECRET, hmac = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hmac, key).update(input).digest('base64url')}`;
}

export function claimsOf(token: string): jwt.JwtPayload {
  return jwt.decode(token) as jwt.JwtPayload;
}
