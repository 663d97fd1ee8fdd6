import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { SECRET } from './app.js';

export const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWS built by hand, so tests can make tokens that jsonwebtoken would refuse to sign. */
export function forge(header: Record<string, unknown>, payload: unknown, key: string | Buffer = SECRET, hmac = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hmac, key).update(input).digest('base64url')}`;
}

/** The decoded JOSE header of a token, without verifying it. */
export const headerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;

export function claimsOf(token: string): jwt.JwtPayload {
  return jwt.decode(token) as jwt.JwtPayload;
}
