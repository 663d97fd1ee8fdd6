import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { shardKeyOf } from '../shard-key.js';

/**
 * A refresh token is `<sessionId>.<proof>.<secret>`, all base64url:
 * - `sessionId` (30 chars): the user's shard key and 128 random bits; it is the access tokens'
 *   `sid`, the session id users see and the store's family id, so it is not secret;
 * - `proof` (22 chars, 128 random bits): fixed for the session and known only to holders of its
 *   refresh tokens. Presenting a wrong token with the right proof is reuse (someone saw a real
 *   token); with a wrong proof it is a guess, and revokes nothing. So a leaked access token,
 *   which names the session, cannot be used to log its user out;
 * - `secret` (43 chars, 256 random bits): new on every rotation.
 * The store sees only SHA-256 hashes of the whole token and of the proof.
 */
const TOKEN_PATTERN = /^([A-Za-z0-9_-]{30})\.([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/;
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{30}$/;

/** What a new session's tokens share: its id and its proof (with the hash the store keeps). */
export interface SessionSecrets {
  sessionId: string;
  proof: string;
  proofHash: string;
}

/** A refresh token as a client presented it, split and hashed for the store. */
export interface PresentedRefreshToken {
  token: string;
  sessionId: string;
  proof: string;
  hash: string;
  proofHash: string;
}

function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** A new session's id, starting with the user's shard key, and proof. */
export function newSession(userId: string): SessionSecrets {
  const sessionId = shardKeyOf(userId) + randomBytes(16).toString('base64url');
  const proof = randomBytes(16).toString('base64url');
  return { sessionId, proof, proofHash: hashOf(proof) };
}

/** A new token of the session: the first one at login, a successor at each rotation. */
export function newRefreshToken(session: { sessionId: string; proof: string }): { token: string; hash: string } {
  const token = `${session.sessionId}.${session.proof}.${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashOf(token) };
}

/** Parses a presented token; `null` when it cannot be one of ours (never reaches the store). */
export function parseRefreshToken(token: string): PresentedRefreshToken | null {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return null;
  const [, sessionId, proof] = match as unknown as [string, string, string];
  return { token, sessionId, proof, hash: hashOf(token), proofHash: hashOf(proof) };
}

/** Whether a value can be a session id (the `sid` claim, `DELETE /sessions/:id`): never sent to the store otherwise. */
export function isSessionId(value: string): boolean {
  return SESSION_ID_PATTERN.test(value);
}

/**
 * The successor, sealed for the grace-window retry: AES-256-GCM under a key derived (HKDF) from
 * the predecessor token, which the store never holds (it has only the token's SHA-256, from
 * which the key cannot be derived). Whoever presents the predecessor can open it; nobody with a
 * copy of the store can.
 */
export function sealSuccessor(successor: string, predecessor: PresentedRefreshToken): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', successorKey(predecessor.token), iv);
  cipher.setAAD(Buffer.from(predecessor.sessionId));
  const sealed = Buffer.concat([iv, cipher.update(successor, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return sealed.toString('base64url');
}

/** Opens a sealed successor; `null` when it was not sealed under this predecessor. */
export function openSuccessor(sealed: string, predecessor: PresentedRefreshToken): string | null {
  try {
    const bytes = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', successorKey(predecessor.token), bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(predecessor.sessionId));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const successor = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
    return parseRefreshToken(successor)?.sessionId === predecessor.sessionId ? successor : null;
  } catch {
    return null;
  }
}

function successorKey(predecessorToken: string): Buffer {
  return Buffer.from(hkdfSync('sha256', predecessorToken, Buffer.alloc(0), 'express-refresh-tokens successor v1', 32));
}
