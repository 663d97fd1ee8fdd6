import { DEFAULTS } from '../config/defaults.js';
import { groupOption } from '../config/values.js';
import { ConfigurationError } from '../errors.js';
import { decodeFamilyReply, decodeIds, decodeLoginAttempt, decodeSessions, registerScripts, type Scripts } from './redis-scripts.js';
import { shardKeyOf, shardKeyOfFamily, SHARD_KEY_LENGTH } from '../shard-key.js';
import { RedisRevocationFeed } from './redis-revocations.js';
import type {
  FindFamilyResult,
  LoginAttempt,
  LoginAttemptResult,
  NewFamily,
  RefreshTokenStore,
  RevocationFeed,
  RevocationListener,
  RotateRequest,
  RotateResult,
  SessionRecord,
} from './types.js';

/**
 * What the store needs of an ioredis `Redis` or `Cluster` client. Declared here, not imported from
 * ioredis, so that the package's types load in apps that never install the optional peer.
 */
export interface RedisClient {
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
}

/** The options of `new RedisTokenStore(options)` (README "`RedisTokenStore`"). */
export interface RedisTokenStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` client. The caller owns it: the store never creates, connects
   * or quits it. Give the store a client of its own, created with {@link recommendedRedisOptions}
   * (or {@link recommendedClusterOptions}), and wait for its `ready` event before serving.
   */
  client: RedisClient;
  /** Prefix of every key the store writes. Must not contain `{` or `}`. Default `'ert:'`. */
  keyPrefix?: string;
}

/**
 * Client settings for a `Redis` client used by the store: every store call fails fast (the token
 * service answers 503) instead of waiting, and no command that already failed for the caller is
 * run later behind its back.
 *
 * ```ts
 * const client = new Redis({ ...recommendedRedisOptions, host, port, lazyConnect: true });
 * await client.connect();
 * const store = new RedisTokenStore({ client });
 * ```
 *
 * - `commandTimeout: 1500`: a command with no answer within 1.5 s rejects ("Command timed out"),
 *   before the token service's 2 s store timeout; this is what catches a server that is hung
 *   (paused, swapping, in a long script) while the TCP connection stays up.
 * - `enableOfflineQueue: false`: while the client is disconnected a command rejects at once. With
 *   the offline queue a command would wait, time out for the caller, and then still be sent on
 *   reconnect: a rotation the caller reported as failed would happen afterwards.
 * - `autoResendUnfulfilledCommands: false`: for the same reason, commands that were in flight
 *   when the connection dropped are not re-sent after the reconnect. (The rotate script still
 *   recognises a rotation that runs twice with the same arguments, case 3 of `rotate`.)
 * - `maxRetriesPerRequest: 0`: commands in flight when the connection drops reject at once
 *   rather than after the next reconnection attempts.
 * - `socketTimeout: 5000`: a connection that has sent commands and received nothing for 5 s is
 *   destroyed and re-established (a half-open connection after a network partition or a
 *   fail-over would otherwise time out every command for minutes, until TCP keep-alive notices).
 *   Do not share this client with blocking commands (BLPOP, XREAD BLOCK) that wait longer.
 * - `retryStrategy`: reconnect forever, quickly at first and then every second, so the store
 *   recovers within about a second of the server coming back.
 * - `connectTimeout: 2000`: a connection attempt that hangs is abandoned and retried.
 */
export const recommendedRedisOptions = Object.freeze({
  commandTimeout: 1500,
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  socketTimeout: 5000,
  connectTimeout: 2000,
  retryStrategy: (times: number): number => Math.min(50 * 2 ** (times - 1), 1000),
});

/**
 * Client settings for a `Cluster` client used by the store, for the same reasons as
 * {@link recommendedRedisOptions}: the cluster-level offline queue is off, and each node
 * connection gets the command timeout and the no-resend settings. (ioredis always turns the
 * offline queue on for the connection to each node, so a command queued while that connection
 * is being opened can still run after it timed out for the caller; the rotate script recognises
 * such a late run as the same rotation when it is sent again with the same arguments.)
 *
 * ```ts
 * const client = new Cluster(nodes, { ...recommendedClusterOptions, lazyConnect: true });
 * await client.connect();
 * ```
 */
export const recommendedClusterOptions = Object.freeze({
  enableOfflineQueue: false,
  clusterRetryStrategy: (times: number): number => Math.min(50 * 2 ** (times - 1), 1000),
  redisOptions: Object.freeze({
    commandTimeout: 1500,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    socketTimeout: 5000,
    connectTimeout: 2000,
  }),
});

/** A shard key as `shardKeyOf` makes it: 8 base64url characters. */
const SHARD_KEY = new RegExp(`^[A-Za-z0-9_-]{${SHARD_KEY_LENGTH}}`);

/**
 * The Redis store (ioredis, standalone or Cluster). Every method is one Lua script (the denylist's
 * is a `SET ... PX` and its PUBLISH): one round trip, all-or-nothing. This class builds the keys;
 * the scripts, their named arguments and the decoding of their replies are in redis-scripts.ts.
 *
 * Keys (see redis-scripts.ts): `<prefix>{<shard>}:f:<familyId>` (a hash per family),
 * `<prefix>{<shard>}:u:<userId>` (the user's family ids, a sorted set by createdAt) and
 * `<prefix>{<shard>}:d:<jti>` (a denylisted access token), where `<shard>` is the user's shard key,
 * which also starts every family id. All the records of one user therefore share one hash tag,
 * hence one Cluster slot: `revokeUser`, the per-user cap and the session list are atomic on
 * Cluster too, not only rotation. Every key carries a TTL.
 */
export class RedisTokenStore implements RefreshTokenStore {
  private readonly client: RedisClient;
  private readonly keyPrefix: string;
  private readonly scripts: Scripts;
  /** Where the scripts PUBLISH what they revoke (README "Revocation checks from memory"). */
  private readonly channel: string;
  private feed: RedisRevocationFeed | undefined;

  constructor(options: RedisTokenStoreOptions) {
    const { client, keyPrefix = DEFAULTS.redisStore.keyPrefix } = groupOption(
      options,
      'RedisTokenStore',
    ) as Partial<RedisTokenStoreOptions>;
    if (!client || typeof (client as { defineCommand?: unknown }).defineCommand !== 'function') {
      throw new ConfigurationError('RedisTokenStore.client', 'must be an ioredis Redis or Cluster instance');
    }
    if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) {
      throw new ConfigurationError('RedisTokenStore.keyPrefix', 'must be a string without "{" or "}" (they would break the hash tags)');
    }
    this.client = client;
    this.keyPrefix = keyPrefix;
    this.scripts = registerScripts(client);
    // ioredis prefixes keys with the client's own `keyPrefix`, not channels: the channel takes it
    // too, so that apps told apart by the client's prefix do not hear each other's revocations.
    const clientPrefix = (client as { options?: { keyPrefix?: unknown } }).options?.keyPrefix;
    this.channel = `${typeof clientPrefix === 'string' ? clientPrefix : ''}${keyPrefix}revocations`;
  }

  async createFamily(family: NewFamily, limits: { maxSessionsPerUser: number; now: number }): Promise<{ evictedFamilyIds: string[] }> {
    const shard = shardKeyOf(family.userId);
    if (shardKeyOfFamily(family.familyId) !== shard) {
      // rotate() finds a family by its id alone: one stored elsewhere could never be used.
      throw new TypeError('RedisTokenStore: a family id must begin with shardKeyOf(userId)');
    }
    const base = this.base(shard);
    const reply = await this.scripts.createFamily([`${base}f:${family.familyId}`, `${base}u:${family.userId}`, base], {
      familyId: family.familyId,
      now: String(limits.now),
      maxSessionsPerUser: String(limits.maxSessionsPerUser),
      channel: this.channel,
      userId: family.userId,
      createdAt: String(family.createdAt),
      lastUsedAt: String(family.lastUsedAt),
      expiresAt: String(family.expiresAt),
      absoluteExpiresAt: String(family.absoluteExpiresAt),
      tokenHash: family.tokenHash,
      proofHash: family.proofHash,
      subject: family.userRecord,
      userAgent: family.userAgent,
      ip: family.ip,
    });
    return { evictedFamilyIds: decodeIds(reply) };
  }

  async rotate(request: RotateRequest): Promise<RotateResult> {
    const base = this.familyBase(request.familyId);
    if (base === undefined) return { outcome: 'invalid', reason: 'unknown' };
    const reply = decodeFamilyReply(
      request.familyId,
      await this.scripts.rotate([`${base}f:${request.familyId}`, base], {
        familyId: request.familyId,
        presentedHash: request.presentedHash,
        proofHash: request.proofHash,
        successorHash: request.successorHash,
        now: String(request.now),
        idleExpiresAt: String(request.now + request.idleTtlMs),
        graceMs: String(request.graceMs),
        channel: this.channel,
        sealedSuccessor: request.sealedSuccessor,
      }),
    );
    if (reply.outcome === 'found') throw new Error('RedisTokenStore: unexpected reply from the rotate script: found');
    return reply;
  }

  async findFamily(familyId: string, conditions: { proofHash: string; now: number }): Promise<FindFamilyResult> {
    const base = this.familyBase(familyId);
    if (base === undefined) return { outcome: 'invalid', reason: 'unknown' };
    const reply = decodeFamilyReply(
      familyId,
      await this.scripts.findFamily([`${base}f:${familyId}`], { proofHash: conditions.proofHash, now: String(conditions.now) }),
    );
    if (reply.outcome === 'invalid' || reply.outcome === 'found') return reply;
    throw new Error(`RedisTokenStore: unexpected reply from the findFamily script: ${reply.outcome}`);
  }

  async revokeFamily(
    familyId: string,
    conditions: { userId?: string; proofHash?: string; now: number },
  ): Promise<{ userId: string } | null> {
    const base = this.familyBase(familyId);
    if (base === undefined) return null;
    const reply = await this.scripts.revokeFamily([`${base}f:${familyId}`, base], {
      familyId,
      now: String(conditions.now),
      channel: this.channel,
      userId: conditions.userId,
      proofHash: conditions.proofHash,
    });
    return typeof reply === 'string' ? { userId: reply } : null;
  }

  async revokeUser(userId: string, now: number): Promise<string[]> {
    const base = this.base(shardKeyOf(userId));
    return decodeIds(await this.scripts.revokeUser([`${base}u:${userId}`, base], { userId, now: String(now), channel: this.channel }));
  }

  async listFamilies(userId: string, now: number): Promise<SessionRecord[]> {
    const base = this.base(shardKeyOf(userId));
    return decodeSessions(await this.scripts.listFamilies([`${base}u:${userId}`, base], { userId, now: String(now) }));
  }

  async denylistAccessToken(entry: { familyId: string; jti: string; expiresAt: number; now: number }): Promise<void> {
    const base = this.familyBase(entry.familyId);
    // Nothing to keep: the token has expired, or its sid is not one of ours (so the revocation
    // check refuses it anyway, since its family can never be live).
    if (base === undefined || entry.expiresAt <= entry.now) return;
    // A script, to publish the entry in the same atomic step as the SET.
    await this.scripts.denylistAccessToken([`${base}d:${entry.jti}`], {
      expiresAt: String(entry.expiresAt),
      ttl: String(Math.ceil(entry.expiresAt - entry.now)),
      jti: entry.jti,
      channel: this.channel,
    });
  }

  /**
   * Subscribes to the revocation channel on every master (one extra connection per master,
   * duplicated from the client, owned and closed by this store). See redis-revocations.ts.
   */
  watchRevocations(listener: RevocationListener): RevocationFeed {
    this.feed ??= new RedisRevocationFeed(this.client, this.channel);
    this.feed.listen(listener);
    return this.feed;
  }

  async isAccessTokenRevoked(query: { familyId: string; jti: string; userId: string; now: number }): Promise<boolean> {
    const base = this.familyBase(query.familyId);
    if (base === undefined) return true;
    const reply = await this.scripts.isAccessTokenRevoked([`${base}d:${query.jti}`, `${base}f:${query.familyId}`], {
      userId: query.userId,
      now: String(query.now),
    });
    return Number(reply) !== 0;
  }

  /**
   * The login throttle's counters: `<prefix>{l:<group>}:<key>`, one hash each. The group (the
   * client's network, hashed) is the hash tag, so both counters of an attempt live in one Cluster
   * slot and one script checks and counts them: one round trip per login.
   */
  async hitLoginAttempt(attempt: LoginAttempt): Promise<LoginAttemptResult> {
    const keys = attempt.counters.map(({ key }) => this.loginKey(attempt.group, key));
    const limits = attempt.counters.flatMap(({ limit, windowMs }) => [String(limit), String(windowMs)]);
    const reply = decodeLoginAttempt(await this.scripts.hitLoginAttempt(keys, { now: String(attempt.now) }, limits));
    if (reply.allowed) return reply;
    const counter = attempt.counters[reply.counter - 1];
    if (counter === undefined) throw new Error('RedisTokenStore: unexpected reply from the hitLoginAttempt script: no such counter');
    return { allowed: false, retryAfterMs: reply.retryAfterMs, key: counter.key };
  }

  async resetLoginAttempts(reset: { group: string; clear: string[]; decrement: string[]; now: number }): Promise<void> {
    const keys = [...reset.clear, ...reset.decrement].map((key) => this.loginKey(reset.group, key));
    await this.scripts.resetLoginAttempts(keys, { now: String(reset.now), clearCount: String(reset.clear.length) });
  }

  /** Closes the connections of `watchRevocations`, if any; the client belongs to the caller, who quits it. */
  async close(): Promise<void> {
    await this.feed?.close();
    this.feed = undefined;
  }

  /** `<prefix>{<shard>}:`, the start of every key of one user. */
  private base(shard: string): string {
    return `${this.keyPrefix}{${shard}}:`;
  }

  private loginKey(group: string, key: string): string {
    return `${this.keyPrefix}{l:${group}}:${key}`;
  }

  /** The key base of a family id, or undefined when the id cannot be one of ours. */
  private familyBase(familyId: string): string | undefined {
    return typeof familyId === 'string' && SHARD_KEY.test(familyId) ? this.base(shardKeyOfFamily(familyId)) : undefined;
  }
}
