import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.js';

/*
 * The Lua scripts of the Redis store: each store method is one of these scripts, run by Redis in
 * one atomic step ("to avoid race conditions by doing all the work on the redis server").
 *
 * Key layout (the store builds the keys, see redis.ts): every key a script touches carries the
 * hash tag of one user, `{<shard>}`, so it lives in one slot and the script runs on one Redis
 * Cluster node. The scripts get the key *base* `<prefix>{<shard>}:` as a declared key and build
 * the family keys they find in a user index from it (`base .. 'f:' .. familyId`); the base goes
 * through the client's own `keyPrefix` like every declared key, and all the keys it yields hash to
 * the declared slot.
 *
 *   <base>f:<familyId>  hash: userId, tokenHash, previousHash, proofHash, rotatedAt, sealedSuccessor,
 *                       createdAt, lastUsedAt, expiresAt, absoluteExpiresAt, userAgent, ip, subject
 *   <base>u:<userId>    sorted set of the user's family ids, scored by createdAt
 *   <base>d:<jti>       denylist entry: the access token's expiry in ms (written with SET PX)
 *
 * Conventions:
 * - Times arrive as ms integers in decimal strings and are compared with `tonumber` (a Lua number
 *   is a double: ms since the epoch are exact far beyond year 9999). Times are stored as the
 *   strings received, never re-formatted, and the numbers given to Redis commands (TTLs) are
 *   formatted with `%d`, so no time ever turns into `1.7e+12`.
 * - "Live" is decided by the `now` argument against the stored `expiresAt`; Redis TTLs only delete
 *   records physically, relative to `now` (`PEXPIRE expiresAt - now`).
 * - The user index outlives every family in it: whenever a family gets a TTL, the index TTL is
 *   raised to at least that TTL (and never lowered). A family whose hash is gone leaves a stale id
 *   in the index; readers skip it and ZREM it.
 * - Optional values are passed as a flag ('1' or '0') and a value, so an empty string stays
 *   distinct from "not given".
 * - Values that can be long (userAgent, subject, sealedSuccessor) are kept in 64-byte pieces
 *   (`name`, `name#1`, `name#2`, ...): a hash whose values all fit in 64 bytes stays in Redis's
 *   compact listpack encoding (`hash-max-listpack-value`, 64 by default), which halves the memory
 *   of a session with a browser's User-Agent. `get_long` joins them back, byte for byte.
 * - Replies are flat arrays of strings; a missing hash field is Lua `false` (null or false in JS).
 * - Every script that revokes something PUBLISHes it on the revocation channel (the last ARGV),
 *   in the same atomic step, for `revocation: 'cached'`: `f <familyId> ...` for families,
 *   `t <jti> <expiresAt>` for a denylisted access token. A PUBLISH has no key, so it is allowed
 *   in a Cluster script whatever its slot, and is delivered to subscribers of every node.
 */

const PRELUDE = `
local function fmt(n)
  return string.format('%d', n)
end

local PIECE = 64

-- Tells the app processes that watch revocations (the channel is the script's last ARGV).
local function publish_families(channel, ids)
  if #ids > 0 then redis.call('PUBLISH', channel, 'f ' .. table.concat(ids, ' ')) end
end

-- Appends name/value pairs to fields: value in pieces of at most PIECE bytes.
local function put_long(fields, name, value)
  fields[#fields + 1] = name
  fields[#fields + 1] = string.sub(value, 1, PIECE)
  local i = 1
  while #value > i * PIECE do
    fields[#fields + 1] = name .. '#' .. i
    fields[#fields + 1] = string.sub(value, i * PIECE + 1, (i + 1) * PIECE)
    i = i + 1
  end
end

-- The whole value whose first piece is first (false when there is none).
local function get_long(key, name, first)
  if not first or #first < PIECE then return first end
  local parts = { first }
  local i = 1
  while true do
    local piece = redis.call('HGET', key, name .. '#' .. i)
    if not piece then break end
    parts[#parts + 1] = piece
    if #piece < PIECE then break end
    i = i + 1
  end
  return table.concat(parts)
end

-- Raises the TTL of the user index to at least ttl ms (the index must outlive its families).
local function extend_index(index_key, ttl)
  local current = redis.call('PTTL', index_key)
  if current == -1 or (current >= 0 and current < ttl) then
    redis.call('PEXPIRE', index_key, fmt(ttl))
  end
end

-- The user's live families, oldest first, as a list of HMGET replies (userId, createdAt,
-- lastUsedAt, expiresAt, absoluteExpiresAt, userAgent, ip) each with .id set. Ids whose hash is
-- gone (expired) or belongs to someone else are removed from the index.
local function live_families(index_key, base, user_id, now)
  local live = {}
  for _, id in ipairs(redis.call('ZRANGE', index_key, 0, -1)) do
    local family = redis.call('HMGET', base .. 'f:' .. id,
      'userId', 'createdAt', 'lastUsedAt', 'expiresAt', 'absoluteExpiresAt', 'userAgent', 'ip')
    if not family[1] or family[1] ~= user_id or not family[4] then
      redis.call('ZREM', index_key, id)
    elseif now < tonumber(family[4]) then
      family[6] = get_long(base .. 'f:' .. id, 'userAgent', family[6])
      family.id = id
      live[#live + 1] = family
    end
  end
  return live
end
`;

/**
 * createFamily. KEYS: family hash, user index, key base.
 * ARGV: familyId, userId, createdAt, lastUsedAt, expiresAt, absoluteExpiresAt, tokenHash,
 * proofHash, subject, hasUserAgent, userAgent, hasIp, ip, now, maxSessionsPerUser, channel.
 * Reply: the evicted family ids.
 *
 * The per-user cap is exact even on Cluster: every family of the user is in this slot.
 */
export const CREATE_FAMILY_SCRIPT = `${PRELUDE}
local family_key, index_key, base = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[14])
local fields = {
  'userId', ARGV[2], 'createdAt', ARGV[3], 'lastUsedAt', ARGV[4], 'expiresAt', ARGV[5],
  'absoluteExpiresAt', ARGV[6], 'tokenHash', ARGV[7], 'proofHash', ARGV[8],
}
put_long(fields, 'subject', ARGV[9])
if ARGV[10] == '1' then
  put_long(fields, 'userAgent', ARGV[11])
end
if ARGV[12] == '1' then
  fields[#fields + 1] = 'ip'
  fields[#fields + 1] = ARGV[13]
end
-- HSET is the first write on purpose: out of memory (noeviction) it is refused before anything is
-- written, while a script that has written once is let through to stay atomic. (A family id is
-- new and random: there is no older hash to clear.)
redis.call('HSET', family_key, unpack(fields))
local ttl = math.max(tonumber(ARGV[5]) - now, 1)
redis.call('PEXPIRE', family_key, fmt(ttl))
redis.call('ZADD', index_key, ARGV[3], ARGV[1])
extend_index(index_key, ttl)

-- Oldest first, and equal createdAt scores in byte order of the id (ZRANGE's order), skipping the
-- family being created: a login never evicts its own session, whatever its createdAt.
local live = live_families(index_key, base, ARGV[2], now)
local excess = #live - tonumber(ARGV[15])
local evicted = {}
for _, family in ipairs(live) do
  if #evicted >= excess then break end
  if family.id ~= ARGV[1] then
    redis.call('DEL', base .. 'f:' .. family.id)
    redis.call('ZREM', index_key, family.id)
    evicted[#evicted + 1] = family.id
  end
end
publish_families(ARGV[16], evicted)
return evicted
`;

/**
 * rotate. KEYS: family hash, key base.
 * ARGV: familyId, presentedHash, proofHash, successorHash, hasSealedSuccessor, sealedSuccessor,
 * now, idleExpiresAt (now + idleTtlMs), graceMs, channel.
 * Reply: {'invalid', 'unknown' | 'wrong_proof'} | {'reused', userId} |
 *   {'rotated', userId, createdAt, lastUsedAt, expiresAt, absoluteExpiresAt, userAgent, ip, subject} |
 *   {'retried', <the same 8 values>, sealedSuccessor}.
 * The five cases of RefreshTokenStore.rotate, in its order.
 */
export const ROTATE_SCRIPT = `${PRELUDE}
local family_key, base = KEYS[1], KEYS[2]
local now = tonumber(ARGV[7])
local f = redis.call('HMGET', family_key,
  'userId', 'tokenHash', 'previousHash', 'proofHash', 'rotatedAt', 'sealedSuccessor',
  'createdAt', 'lastUsedAt', 'expiresAt', 'absoluteExpiresAt', 'userAgent', 'ip', 'subject')
local user_id, token_hash, previous_hash, proof_hash, rotated_at, sealed =
  f[1], f[2], f[3], f[4], f[5], f[6]
local created_at, last_used_at, expires_at, absolute_expires_at = f[7], f[8], f[9], f[10]

-- 1. Not live, or a wrong family proof: a guess, not reuse. Nothing changes.
if not user_id or not expires_at or now >= tonumber(expires_at) then
  return {'invalid', 'unknown'}
end
if proof_hash ~= ARGV[3] then
  return {'invalid', 'wrong_proof'}
end

local user_agent, subject = get_long(family_key, 'userAgent', f[11]), get_long(family_key, 'subject', f[13])

-- 2. The current token: the successor becomes current, the idle expiry slides.
if ARGV[2] == token_hash then
  local new_expires_at = ARGV[8]
  if tonumber(absolute_expires_at) < tonumber(new_expires_at) then
    new_expires_at = absolute_expires_at
  end
  redis.call('HSET', family_key, 'tokenHash', ARGV[4], 'previousHash', ARGV[2],
    'rotatedAt', ARGV[7], 'lastUsedAt', ARGV[7], 'expiresAt', new_expires_at)
  -- A sealed successor always has the same length, so its pieces overwrite the last ones.
  if ARGV[5] == '1' then
    local pieces = {}
    put_long(pieces, 'sealedSuccessor', ARGV[6])
    redis.call('HSET', family_key, unpack(pieces))
  else
    redis.call('HDEL', family_key, 'sealedSuccessor', 'sealedSuccessor#1', 'sealedSuccessor#2', 'sealedSuccessor#3')
  end
  local ttl = math.max(tonumber(new_expires_at) - now, 1)
  redis.call('PEXPIRE', family_key, fmt(ttl))
  extend_index(base .. 'u:' .. user_id, ttl)
  return {'rotated', user_id, created_at, ARGV[7], new_expires_at, absolute_expires_at, user_agent, f[12], subject}
end

if ARGV[2] == previous_hash then
  -- 3. The same rotation arriving twice (a re-sent command): nothing changes.
  if ARGV[4] == token_hash then
    return {'rotated', user_id, created_at, last_used_at, expires_at, absolute_expires_at, user_agent, f[12], subject}
  end
  -- 4. The previous token within the grace window: hand back the kept successor.
  local grace = tonumber(ARGV[9])
  if grace > 0 and sealed and rotated_at and now - tonumber(rotated_at) <= grace then
    return {'retried', user_id, created_at, last_used_at, expires_at, absolute_expires_at, user_agent, f[12], subject,
      get_long(family_key, 'sealedSuccessor', sealed)}
  end
end

-- 5. Reuse: the family is revoked in the same step.
redis.call('DEL', family_key)
redis.call('ZREM', base .. 'u:' .. user_id, ARGV[1])
publish_families(ARGV[10], {ARGV[1]})
return {'reused', user_id}
`;

/**
 * findFamily. KEYS: family hash. ARGV: proofHash, now.
 * Reply: {'invalid', 'unknown' | 'wrong_proof'} |
 *   {'found', userId, createdAt, lastUsedAt, expiresAt, absoluteExpiresAt, userAgent, ip, subject}
 * (the values of rotate's reply). Changes nothing; not declared read-only, for the same reason as
 * isAccessTokenRevoked.
 */
export const FIND_FAMILY_SCRIPT = `${PRELUDE}
local family_key = KEYS[1]
local f = redis.call('HMGET', family_key,
  'userId', 'proofHash', 'createdAt', 'lastUsedAt', 'expiresAt', 'absoluteExpiresAt', 'userAgent', 'ip', 'subject')
if not f[1] or not f[5] or tonumber(ARGV[2]) >= tonumber(f[5]) then
  return {'invalid', 'unknown'}
end
if f[2] ~= ARGV[1] then
  return {'invalid', 'wrong_proof'}
end
return {'found', f[1], f[3], f[4], f[5], f[6], get_long(family_key, 'userAgent', f[7]), f[8], get_long(family_key, 'subject', f[9])}
`;

/**
 * revokeFamily. KEYS: family hash, key base.
 * ARGV: familyId, now, hasUserId, userId, hasProofHash, proofHash, channel.
 * Reply: the revoked family's userId, or false when nothing matched.
 */
export const REVOKE_FAMILY_SCRIPT = `${PRELUDE}
local family_key, base = KEYS[1], KEYS[2]
local f = redis.call('HMGET', family_key, 'userId', 'expiresAt', 'proofHash')
if not f[1] or not f[2] or tonumber(ARGV[2]) >= tonumber(f[2]) then return false end
if ARGV[3] == '1' and f[1] ~= ARGV[4] then return false end
if ARGV[5] == '1' and f[3] ~= ARGV[6] then return false end
redis.call('DEL', family_key)
redis.call('ZREM', base .. 'u:' .. f[1], ARGV[1])
publish_families(ARGV[7], {ARGV[1]})
return f[1]
`;

/**
 * revokeUser. KEYS: user index, key base. ARGV: userId, now, channel.
 * Reply: the ids of the families that were live. Every family in the index is deleted, live or
 * not, and the index with them. Atomic with createFamily and rotate even on Cluster: they all
 * run in this one slot.
 */
export const REVOKE_USER_SCRIPT = `${PRELUDE}
local index_key, base = KEYS[1], KEYS[2]
local revoked = {}
for _, family in ipairs(live_families(index_key, base, ARGV[1], tonumber(ARGV[2]))) do
  revoked[#revoked + 1] = family.id
end
local all = redis.call('ZRANGE', index_key, 0, -1)
for _, id in ipairs(all) do
  redis.call('DEL', base .. 'f:' .. id)
end
redis.call('DEL', index_key)
publish_families(ARGV[3], all)
return revoked
`;

/**
 * listFamilies. KEYS: user index, key base. ARGV: userId, now.
 * Reply: flat, 8 values per live family, oldest first: familyId, userId, createdAt, lastUsedAt,
 * expiresAt, absoluteExpiresAt, userAgent, ip.
 */
export const LIST_FAMILIES_SCRIPT = `${PRELUDE}
local out = {}
for _, family in ipairs(live_families(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]))) do
  out[#out + 1] = family.id
  for i = 1, 7 do out[#out + 1] = family[i] end
end
return out
`;

/**
 * isAccessTokenRevoked. KEYS: denylist entry, family hash. ARGV: userId, now.
 * Reply: 1 when revoked (denylisted, family not live, or another user's), else 0.
 * Not declared read-only on purpose: with `scaleReads` a read-only script could be answered by a
 * replica that has not seen a revocation yet.
 */
export const IS_ACCESS_TOKEN_REVOKED_SCRIPT = `
local now = tonumber(ARGV[2])
local denied_until = redis.call('GET', KEYS[1])
if denied_until and now < tonumber(denied_until) then return 1 end
local f = redis.call('HMGET', KEYS[2], 'userId', 'expiresAt')
if not f[1] or not f[2] or now >= tonumber(f[2]) or f[1] ~= ARGV[1] then return 1 end
return 0
`;

/**
 * hitLoginAttempt. KEYS: the counters, each a hash { c: count, e: expiresAt }, all with the
 * attempt's hash tag. ARGV: now, then limit and windowMs of each counter in KEYS order.
 * Reply: {1} when allowed (every counter raised), {0, retryAfterMs, index of the limiting
 * counter (1-based)} when refused (nothing written).
 *
 * Checking and counting are one script, hence one atomic step even with many app instances:
 * N parallel attempts see N different counts, so no more than the limit can pass. A counter that
 * starts gets the window as its TTL: every key expires by itself.
 */
export const HIT_LOGIN_ATTEMPT_SCRIPT = `${PRELUDE}
local now = tonumber(ARGV[1])
local counts = {}
local wait, which = 0, 0
for i, key in ipairs(KEYS) do
  local counter = redis.call('HMGET', key, 'c', 'e')
  local count, expires = tonumber(counter[1]), tonumber(counter[2])
  if count and expires and now < expires then
    counts[i] = count
    if count >= tonumber(ARGV[2 * i]) and expires - now > wait then
      wait, which = expires - now, i
    end
  end
end
if which > 0 then
  return { 0, fmt(wait), which }
end
for i, key in ipairs(KEYS) do
  if counts[i] then
    redis.call('HINCRBY', key, 'c', 1)
  else
    local window = tonumber(ARGV[2 * i + 1])
    redis.call('HSET', key, 'c', 1, 'e', fmt(now + window))
    redis.call('PEXPIRE', key, fmt(window))
  end
end
return { 1 }
`;

/**
 * resetLoginAttempts. KEYS: the counters to clear, then those to lower by one.
 * ARGV: now, number of counters to clear. Reply: 1.
 */
export const RESET_LOGIN_ATTEMPTS_SCRIPT = `
local now, clear = tonumber(ARGV[1]), tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  if i <= clear then
    redis.call('DEL', key)
  else
    local counter = redis.call('HMGET', key, 'c', 'e')
    local count, expires = tonumber(counter[1]), tonumber(counter[2])
    if count and expires and now < expires and count > 0 then
      redis.call('HINCRBY', key, 'c', -1)
    end
  end
end
return 1
`;

/**
 * denylistAccessToken. KEYS: denylist entry. ARGV: expiresAt, ttl (ms), jti, channel.
 * SET first: out of memory it is refused before anything is published.
 */
export const DENYLIST_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[4], 't ' .. ARGV[3] .. ' ' .. ARGV[1])
return 1
`;

/** The scripts by store method, with their number of declared keys (undefined: given with each call). */
const SCRIPTS = {
  createFamily: { lua: CREATE_FAMILY_SCRIPT, numberOfKeys: 3 },
  rotate: { lua: ROTATE_SCRIPT, numberOfKeys: 2 },
  findFamily: { lua: FIND_FAMILY_SCRIPT, numberOfKeys: 1 },
  revokeFamily: { lua: REVOKE_FAMILY_SCRIPT, numberOfKeys: 2 },
  revokeUser: { lua: REVOKE_USER_SCRIPT, numberOfKeys: 2 },
  listFamilies: { lua: LIST_FAMILIES_SCRIPT, numberOfKeys: 2 },
  isAccessTokenRevoked: { lua: IS_ACCESS_TOKEN_REVOKED_SCRIPT, numberOfKeys: 2 },
  // Any number of keys: the command is given their count first.
  hitLoginAttempt: { lua: HIT_LOGIN_ATTEMPT_SCRIPT, numberOfKeys: undefined },
  resetLoginAttempts: { lua: RESET_LOGIN_ATTEMPTS_SCRIPT, numberOfKeys: undefined },
  denylistAccessToken: { lua: DENYLIST_SCRIPT, numberOfKeys: 1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/**
 * The ioredis command name of each script. It carries the start of the script's SHA-1, so two
 * versions of this library sharing one client never overwrite each other's commands.
 */
export const SCRIPT_COMMANDS: Readonly<Record<ScriptName, string>> = Object.freeze(
  Object.fromEntries(
    Object.entries(SCRIPTS).map(([name, { lua }]) => [
      name,
      `ert_${name}_${createHash('sha1').update(lua).digest('hex').slice(0, 10)}`,
    ]),
  ) as Record<ScriptName, string>,
);

/** A script command as ioredis defines it: keys first, then arguments. */
export type ScriptCommand = (...keysAndArgs: string[]) => Promise<unknown>;

const registered = new WeakSet<object>();

/**
 * Defines the store's scripts on the client with `defineCommand`, once per client. ioredis then
 * sends EVALSHA (EVAL the first time on each connection) and, on NOSCRIPT (after a `SCRIPT FLUSH`
 * or a restart), sends the script again with EVAL: the store keeps working with no help.
 */
export function registerScripts(client: RedisClient): Record<ScriptName, ScriptCommand> {
  const commands = client as unknown as Record<string, ScriptCommand | undefined>;
  if (!registered.has(client)) {
    for (const [name, { lua, numberOfKeys }] of Object.entries(SCRIPTS)) {
      const command = SCRIPT_COMMANDS[name as ScriptName];
      // Another copy of this module (the CJS and ESM builds in one app) may have defined it.
      if (typeof commands[command] !== 'function') client.defineCommand(command, { lua, numberOfKeys });
    }
    registered.add(client);
  }
  const bound = {} as Record<ScriptName, ScriptCommand>;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const command = commands[SCRIPT_COMMANDS[name]]!;
    bound[name] = (...keysAndArgs) => command.apply(client, keysAndArgs);
  }
  return bound;
}
