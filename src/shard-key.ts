import { createHash } from 'node:crypto';

/** Length of the shard key that starts every family id. */
export const SHARD_KEY_LENGTH = 8;

/**
 * The shard key of a user: 8 base64url characters of the SHA-256 of the user id. Every family id
 * of the user starts with it, so a sharded store (Redis Cluster) can place all of one user's
 * records in one slot and reach them from a refresh token alone.
 */
export function shardKeyOf(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url').slice(0, SHARD_KEY_LENGTH);
}

/** The shard key at the start of a family id (the `sid` claim). */
export function shardKeyOfFamily(familyId: string): string {
  return familyId.slice(0, SHARD_KEY_LENGTH);
}
