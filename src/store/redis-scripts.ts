import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.js';
import type { FindFamilyResult, RotateResult, SessionRecord } from './types.js';

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
 *   <base>f:<familyId>  hash: the fields of FAMILY_FIELDS (below)
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
 * - Arguments are named: each script declares its ARGV as a list of names (`script()` below), the
 *   Lua reads them as `arg.<name>` from a table generated from that list, and the store encodes
 *   them from an object with the same names (`encodeArgs`). Optional values follow the fixed ones
 *   as name/value pairs, only when given: absent is `nil` in Lua, and an empty string stays
 *   distinct from "not given".
 * - Values that can be long (LONG_FIELDS) are kept in 64-byte pieces
 *   (`name`, `name#1`, `name#2`, ...): a hash whose values all fit in 64 bytes stays in Redis's
 *   compact listpack encoding (`hash-max-listpack-value`, 64 by default), which halves the memory
 *   of a session with a browser's User-Agent. `get_long` joins them back, byte for byte.
 * - Replies are flat arrays of strings; a missing hash field is Lua `false` (null or false in JS).
 *   A family's values are replied in the order of a field list (SESSION_FIELDS, FAMILY_REPLY),
 *   which `decodeFamilyReply` and `decodeSessions` read by the same list.
 * - Every script that revokes something PUBLISHes it on the revocation channel (`arg.channel`),
 *   in the same atomic step, for `revocation: 'cached'`: `f <familyId> ...` for families,
 *   `t <jti> <expiresAt>` for a denylisted access token. A PUBLISH has no key, so it is allowed
 *   in a Cluster script whatever its slot, and is delivered to subscribers of every node.
 */

/*
 * The family hash's field names. They are the names the first version stored, and data already in
 * Redis must stay readable: never rename one. (`subject` holds `NewFamily.userRecord`: the
 * property was renamed, the field was not.)
 */

/** What a session record is read from, in the order replies carry them. */
const SESSION_FIELDS = ['userId', 'createdAt', 'lastUsedAt', 'expiresAt', 'absoluteExpiresAt', 'userAgent', 'ip'] as const;

/** Every field of a family's hash (long ones by the name of their first piece). */
const FAMILY_FIELDS = [...SESSION_FIELDS, 'tokenHash', 'previousHash', 'proofHash', 'rotatedAt', 'sealedSuccessor', 'subject'] as const;

type FamilyField = (typeof FAMILY_FIELDS)[number];

/** Fields whose value may pass 64 bytes, hence kept in pieces (`name`, `name#1`, ...). */
const LONG_FIELDS = ['userAgent', 'subject', 'sealedSuccessor'] as const satisfies readonly FamilyField[];

/** The fields `createFamily` writes, always (the others arrive with the first rotation) ... */
const NEW_FAMILY_FIELDS = [
  'userId',
  'createdAt',
  'lastUsedAt',
  'expiresAt',
  'absoluteExpiresAt',
  'tokenHash',
  'proofHash',
  'subject',
] as const satisfies readonly FamilyField[];
/** ... and when given. */
const NEW_FAMILY_OPTIONAL_FIELDS = ['userAgent', 'ip'] as const satisfies readonly FamilyField[];

/** A rotation's or a find's reply after its outcome: the session, the user record, and (for a retry) the sealed successor. */
const FAMILY_REPLY = [...SESSION_FIELDS, 'subject', 'sealedSuccessor'] as const satisfies readonly FamilyField[];

/** Field and argument names are spliced into the Lua: plain letters only, so quoting them is safe. */
function checkNames(names: readonly string[]): readonly string[] {
  for (const name of names) if (!/^[A-Za-z]+$/.test(name)) throw new Error(`redis-scripts: not a plain name: ${name}`);
  return names;
}

/** Names as the arguments of a Lua call: `'a', 'b'`. */
function luaNames(names: readonly string[]): string {
  return checkNames(names)
    .map((name) => `'${name}'`)
    .join(', ');
}

/**
 * Lua statements that read the hash fields `fields` at `key` into a new local table `record`, by
 * name (false for a missing field; a long one's first piece). The names are written out, so a
 * read builds one table of known shape and loops over nothing.
 */
function luaRead(record: string, key: string, fields: readonly string[]): string {
  return `local ${record}_values = redis.call('HMGET', ${key}, ${luaNames(fields)})
  local ${record} = { ${fields.map((field, i) => `${field} = ${record}_values[${i + 1}]`).join(', ')} }`;
}

/** A Lua function `name(outcome, record)`: a reply of the outcome, then the record's values of `fields`, in order (false for a missing one). */
function luaReply(name: string, fields: readonly string[]): string {
  return `local function ${name}(outcome, record)
  return { outcome, ${checkNames(fields)
    .map((field) => `record.${field} or false`)
    .join(', ')} }
end`;
}

/** A Lua function `name(out, record)` that appends the record's values of `fields` to out, in order (false for a missing one). */
function luaAppender(name: string, fields: readonly string[]): string {
  checkNames(fields);
  return `local function ${name}(out, record)
  local n = #out
${fields.map((field, i) => `  out[n + ${i + 1}] = record.${field} or false`).join('\n')}
  return out
end`;
}

/**
 * Lua that sets `fields` to the HSET arguments of a new family, from `arg`: the long values in
 * pieces (`put_long`), the optional ones only when given.
 */
function luaNewFamilyFields(): string {
  const isLong = (field: FamilyField) => (LONG_FIELDS as readonly FamilyField[]).includes(field);
  const short = NEW_FAMILY_FIELDS.filter((field) => !isLong(field));
  const lines = [
    `local fields = { ${checkNames(short)
      .map((field) => `'${field}', arg.${field}`)
      .join(', ')} }`,
  ];
  for (const field of NEW_FAMILY_FIELDS.filter(isLong)) lines.push(`put_long(fields, '${field}', arg.${field})`);
  for (const field of checkNames(NEW_FAMILY_OPTIONAL_FIELDS) as readonly FamilyField[]) {
    const put = isLong(field)
      ? `put_long(fields, '${field}', arg.${field})`
      : `fields[#fields + 1] = '${field}'; fields[#fields + 1] = arg.${field}`;
    lines.push(`if arg.${field} then ${put} end`);
  }
  return lines.join('\n');
}

/**
 * The shared Lua of the scripts, one definition per name, in dependency order. Redis runs a
 * script's whole text on every call, so each script gets only the definitions its body uses,
 * and what those use in turn (`preludeFor`): a definition costs every call that includes it.
 */
const PRELUDE: readonly (readonly [name: string, lua: string])[] = [
  [
    'fmt',
    `local function fmt(n)
  return string.format('%d', n)
end`,
  ],
  ['PIECE', 'local PIECE = 64'],
  [
    'publish_families',
    `-- Tells the app processes that watch revocations.
local function publish_families(channel, ids)
  if #ids > 0 then redis.call('PUBLISH', channel, 'f ' .. table.concat(ids, ' ')) end
end`,
  ],
  [
    'put_long',
    `-- Appends the name/value pair of a long field to fields, the value in pieces of at most PIECE bytes.
local function put_long(fields, name, value)
  fields[#fields + 1] = name
  fields[#fields + 1] = string.sub(value, 1, PIECE)
  local i = 1
  while #value > i * PIECE do
    fields[#fields + 1] = name .. '#' .. i
    fields[#fields + 1] = string.sub(value, i * PIECE + 1, (i + 1) * PIECE)
    i = i + 1
  end
end`,
  ],
  [
    'pieces',
    `-- The pieces of the long value whose first piece is first: their field names and values. A
-- piece shorter than PIECE is the last one, so the count is read from the data, never assumed.
local function pieces(key, name, first)
  local names, values = { name }, { first }
  local piece, i = first, 1
  while #piece >= PIECE do
    piece = redis.call('HGET', key, name .. '#' .. i)
    if not piece then break end
    names[#names + 1] = name .. '#' .. i
    values[#values + 1] = piece
    i = i + 1
  end
  return names, values
end`,
  ],
  [
    'get_long',
    `-- The whole value whose first piece is first (false when there is none).
local function get_long(key, name, first)
  if not first or #first < PIECE then return first end
  local _, values = pieces(key, name, first)
  return table.concat(values)
end`,
  ],
  [
    'del_long',
    `-- Deletes every piece of the long value whose first piece is first.
local function del_long(key, name, first)
  if not first then return end
  redis.call('HDEL', key, unpack((pieces(key, name, first))))
end`,
  ],
  ['family_reply', luaReply('family_reply', FAMILY_REPLY)],
  ['append_session', luaAppender('append_session', SESSION_FIELDS)],
  [
    'find_family',
    `-- The family at key when it is live at now and its proof is proof_hash, with its user agent and
-- user record whole (the sealed successor stays its first piece). Otherwise nil and why:
-- 'unknown' (not live) or 'wrong_proof'.
local function find_family(key, now, proof_hash)
  ${luaRead('f', 'key', FAMILY_FIELDS)}
  if not f.userId or not f.expiresAt or now >= tonumber(f.expiresAt) then return nil, 'unknown' end
  if f.proofHash ~= proof_hash then return nil, 'wrong_proof' end
  f.userAgent = get_long(key, 'userAgent', f.userAgent)
  f.subject = get_long(key, 'subject', f.subject)
  return f
end`,
  ],
  [
    'extend_index',
    `-- Raises the TTL of the user index to at least ttl ms (the index must outlive its families).
local function extend_index(index_key, ttl)
  local current = redis.call('PTTL', index_key)
  if current == -1 or (current >= 0 and current < ttl) then
    redis.call('PEXPIRE', index_key, fmt(ttl))
  end
end`,
  ],
  [
    'live_families',
    `-- The user's live families, oldest first: records of SESSION_FIELDS (userAgent whole) with
-- familyId set. Ids whose hash is gone (expired) or belongs to someone else are removed from the index.
local function live_families(index_key, base, user_id, now)
  local live = {}
  for _, id in ipairs(redis.call('ZRANGE', index_key, 0, -1)) do
    local family_key = base .. 'f:' .. id
    ${luaRead('family', 'family_key', SESSION_FIELDS)}
    if not family.userId or family.userId ~= user_id or not family.expiresAt then
      redis.call('ZREM', index_key, id)
    elseif now < tonumber(family.expiresAt) then
      family.userAgent = get_long(family_key, 'userAgent', family.userAgent)
      family.familyId = id
      live[#live + 1] = family
    end
  end
  return live
end`,
  ],
];

/** The definitions of PRELUDE that `body` uses, directly or through another definition, in PRELUDE's order. */
function preludeFor(body: string): string {
  const used = new Set<string>();
  let text = body;
  for (let grew = true; grew;) {
    grew = false;
    for (const [name, lua] of PRELUDE) {
      if (!used.has(name) && new RegExp(`\\b${name}\\b`).test(text)) {
        used.add(name);
        text += lua;
        grew = true;
      }
    }
  }
  return PRELUDE.filter(([name]) => used.has(name))
    .map(([, lua]) => `${lua}\n`)
    .join('');
}

/** A script and its named arguments. */
interface Script<A extends string, O extends string> {
  lua: string;
  /** Declared keys; undefined: any number, counted in front of each call. */
  numberOfKeys: number | undefined;
  /** ARGV, in order. */
  args: readonly A[];
  /** Optional arguments, sent after `args` as name/value pairs when given. */
  optional: readonly O[];
  /** Values after the named ones, for a script that takes one group per key. */
  variadic: boolean;
}

/**
 * Defines a script: its body, after the line that names its ARGV,
 * `local arg = { <name> = ARGV[1], ... }`, and before that the definitions of PRELUDE it uses.
 */
function script<const A extends string, const O extends string = never>(
  definition: { numberOfKeys: number | undefined; args: readonly A[]; optional?: readonly O[]; variadic?: boolean },
  body: string,
): Script<A, O> {
  const { numberOfKeys, args, optional = [], variadic = false } = definition;
  checkNames([...args, ...optional]);
  let names = `local arg = { ${args.map((name, i) => `${name} = ARGV[${i + 1}]`).join(', ')} }\n`;
  if (optional.length > 0) names += `for i = ${args.length + 1}, #ARGV, 2 do arg[ARGV[i]] = ARGV[i + 1] end\n`;
  return { lua: `${preludeFor(body)}${names}${body}`, numberOfKeys, args, optional, variadic };
}

/**
 * createFamily. KEYS: family hash, user index, key base. Reply: the evicted family ids.
 *
 * The per-user cap is exact even on Cluster: every family of the user is in this slot.
 */
const CREATE_FAMILY = script(
  {
    numberOfKeys: 3,
    args: ['familyId', 'now', 'maxSessionsPerUser', 'channel', ...NEW_FAMILY_FIELDS],
    optional: NEW_FAMILY_OPTIONAL_FIELDS,
  },
  `
local family_key, index_key, base = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(arg.now)
${luaNewFamilyFields()}
-- HSET is the first write on purpose: out of memory (noeviction) it is refused before anything is
-- written, while a script that has written once is let through to stay atomic. (A family id is
-- new and random: there is no older hash to clear.)
redis.call('HSET', family_key, unpack(fields))
local ttl = math.max(tonumber(arg.expiresAt) - now, 1)
redis.call('PEXPIRE', family_key, fmt(ttl))
redis.call('ZADD', index_key, arg.createdAt, arg.familyId)
extend_index(index_key, ttl)

-- Oldest first, and equal createdAt scores in byte order of the id (ZRANGE's order), skipping the
-- family being created: a login never evicts its own session, whatever its createdAt.
local live = live_families(index_key, base, arg.userId, now)
local excess = #live - tonumber(arg.maxSessionsPerUser)
local evicted = {}
for _, family in ipairs(live) do
  if #evicted >= excess then break end
  if family.familyId ~= arg.familyId then
    redis.call('DEL', base .. 'f:' .. family.familyId)
    redis.call('ZREM', index_key, family.familyId)
    evicted[#evicted + 1] = family.familyId
  end
end
publish_families(arg.channel, evicted)
return evicted
`,
);

/**
 * rotate. KEYS: family hash, key base. `idleExpiresAt` is now + idleTtlMs.
 * Reply: {'invalid', 'unknown' | 'wrong_proof'} | {'reused', userId} |
 *   {'rotated' | 'retried', <the values of FAMILY_REPLY>} (the sealed successor only in 'retried').
 * The five cases of RefreshTokenStore.rotate, in its order.
 */
const ROTATE = script(
  {
    numberOfKeys: 2,
    args: ['familyId', 'presentedHash', 'proofHash', 'successorHash', 'now', 'idleExpiresAt', 'graceMs', 'channel'],
    optional: ['sealedSuccessor'],
  },
  `
local family_key, base = KEYS[1], KEYS[2]
local now = tonumber(arg.now)
local f, why = find_family(family_key, now, arg.proofHash)

-- 1. Not live, or a wrong family proof: a guess, not reuse. Nothing changes.
if not f then
  return {'invalid', why}
end

-- Replied by a retry only, and read whole only then.
local sealed = f.sealedSuccessor
f.sealedSuccessor = false

-- 2. The current token: the successor becomes current, the idle expiry slides.
if arg.presentedHash == f.tokenHash then
  local expires_at = arg.idleExpiresAt
  if tonumber(f.absoluteExpiresAt) < tonumber(expires_at) then
    expires_at = f.absoluteExpiresAt
  end
  local fields = {'tokenHash', arg.successorHash, 'previousHash', arg.presentedHash,
    'rotatedAt', arg.now, 'lastUsedAt', arg.now, 'expiresAt', expires_at}
  if arg.sealedSuccessor then
    -- A sealed successor always has the same length, so its pieces overwrite the last ones.
    put_long(fields, 'sealedSuccessor', arg.sealedSuccessor)
  else
    del_long(family_key, 'sealedSuccessor', sealed)
  end
  redis.call('HSET', family_key, unpack(fields))
  local ttl = math.max(tonumber(expires_at) - now, 1)
  redis.call('PEXPIRE', family_key, fmt(ttl))
  extend_index(base .. 'u:' .. f.userId, ttl)
  f.lastUsedAt, f.expiresAt = arg.now, expires_at
  return family_reply('rotated', f)
end

if arg.presentedHash == f.previousHash then
  -- 3. The same rotation arriving twice (a re-sent command): nothing changes.
  if arg.successorHash == f.tokenHash then
    return family_reply('rotated', f)
  end
  -- 4. The previous token within the grace window: hand back the kept successor.
  local grace = tonumber(arg.graceMs)
  if grace > 0 and sealed and f.rotatedAt and now - tonumber(f.rotatedAt) <= grace then
    f.sealedSuccessor = get_long(family_key, 'sealedSuccessor', sealed)
    return family_reply('retried', f)
  end
end

-- 5. Reuse: the family is revoked in the same step.
redis.call('DEL', family_key)
redis.call('ZREM', base .. 'u:' .. f.userId, arg.familyId)
publish_families(arg.channel, {arg.familyId})
return {'reused', f.userId}
`,
);

/**
 * findFamily. KEYS: family hash.
 * Reply: {'invalid', 'unknown' | 'wrong_proof'} | {'found', <the values of FAMILY_REPLY>} (no
 * sealed successor). Changes nothing; not declared read-only, for the same reason as
 * isAccessTokenRevoked.
 */
const FIND_FAMILY = script(
  { numberOfKeys: 1, args: ['proofHash', 'now'] },
  `
local f, why = find_family(KEYS[1], tonumber(arg.now), arg.proofHash)
if not f then
  return {'invalid', why}
end
f.sealedSuccessor = false
return family_reply('found', f)
`,
);

/**
 * revokeFamily. KEYS: family hash, key base. The conditions `userId` and `proofHash` are optional.
 * Reply: the revoked family's userId, or false when nothing matched.
 */
const REVOKE_FAMILY = script(
  { numberOfKeys: 2, args: ['familyId', 'now', 'channel'], optional: ['userId', 'proofHash'] },
  `
local family_key, base = KEYS[1], KEYS[2]
local user_id, expires_at, proof_hash = unpack(redis.call('HMGET', family_key, 'userId', 'expiresAt', 'proofHash'))
if not user_id or not expires_at or tonumber(arg.now) >= tonumber(expires_at) then return false end
if arg.userId and user_id ~= arg.userId then return false end
if arg.proofHash and proof_hash ~= arg.proofHash then return false end
redis.call('DEL', family_key)
redis.call('ZREM', base .. 'u:' .. user_id, arg.familyId)
publish_families(arg.channel, {arg.familyId})
return user_id
`,
);

/**
 * revokeUser. KEYS: user index, key base.
 * Reply: the ids of the families that were live. Every family in the index is deleted, live or
 * not, and the index with them. Atomic with createFamily and rotate even on Cluster: they all
 * run in this one slot.
 */
const REVOKE_USER = script(
  { numberOfKeys: 2, args: ['userId', 'now', 'channel'] },
  `
local index_key, base = KEYS[1], KEYS[2]
local revoked = {}
for _, family in ipairs(live_families(index_key, base, arg.userId, tonumber(arg.now))) do
  revoked[#revoked + 1] = family.familyId
end
local all = redis.call('ZRANGE', index_key, 0, -1)
for _, id in ipairs(all) do
  redis.call('DEL', base .. 'f:' .. id)
end
redis.call('DEL', index_key)
publish_families(arg.channel, all)
return revoked
`,
);

/**
 * listFamilies. KEYS: user index, key base.
 * Reply: flat, per live family oldest first: its id, then the values of SESSION_FIELDS.
 */
const LIST_FAMILIES = script(
  { numberOfKeys: 2, args: ['userId', 'now'] },
  `
local out = {}
for _, family in ipairs(live_families(KEYS[1], KEYS[2], arg.userId, tonumber(arg.now))) do
  out[#out + 1] = family.familyId
  append_session(out, family)
end
return out
`,
);

/**
 * isAccessTokenRevoked. KEYS: denylist entry, family hash.
 * Reply: 1 when revoked (denylisted, family not live, or another user's), else 0.
 * Not declared read-only on purpose: with `scaleReads` a read-only script could be answered by a
 * replica that has not seen a revocation yet.
 */
const IS_ACCESS_TOKEN_REVOKED = script(
  { numberOfKeys: 2, args: ['userId', 'now'] },
  `
local now = tonumber(arg.now)
local denied_until = redis.call('GET', KEYS[1])
if denied_until and now < tonumber(denied_until) then return 1 end
local user_id, expires_at = unpack(redis.call('HMGET', KEYS[2], 'userId', 'expiresAt'))
if not user_id or not expires_at or now >= tonumber(expires_at) or user_id ~= arg.userId then return 1 end
return 0
`,
);

/**
 * hitLoginAttempt. KEYS: the counters, each a hash { c: count, e: expiresAt }, all with the
 * attempt's hash tag. ARGV: now, then limit and windowMs of each counter in KEYS order (key i's
 * at ARGV[2i] and ARGV[2i + 1]).
 * Reply: {1} when allowed (every counter raised), {0, retryAfterMs, index of the limiting
 * counter (1-based)} when refused (nothing written).
 *
 * Checking and counting are one script, hence one atomic step even with many app instances:
 * N parallel attempts see N different counts, so no more than the limit can pass. A counter that
 * starts gets the window as its TTL: every key expires by itself.
 */
const HIT_LOGIN_ATTEMPT = script(
  { numberOfKeys: undefined, args: ['now'], variadic: true },
  `
local now = tonumber(arg.now)
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
`,
);

/**
 * resetLoginAttempts. KEYS: the counters to clear (the first `clearCount`), then those to lower
 * by one. Reply: 1.
 */
const RESET_LOGIN_ATTEMPTS = script(
  { numberOfKeys: undefined, args: ['now', 'clearCount'] },
  `
local now, clear = tonumber(arg.now), tonumber(arg.clearCount)
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
`,
);

/**
 * denylistAccessToken. KEYS: denylist entry. `ttl` in ms.
 * SET first: out of memory it is refused before anything is published.
 */
const DENYLIST = script(
  { numberOfKeys: 1, args: ['expiresAt', 'ttl', 'jti', 'channel'] },
  `
redis.call('SET', KEYS[1], arg.expiresAt, 'PX', arg.ttl)
redis.call('PUBLISH', arg.channel, 't ' .. arg.jti .. ' ' .. arg.expiresAt)
return 1
`,
);

/** The scripts by store method. */
const SCRIPTS = {
  createFamily: CREATE_FAMILY,
  rotate: ROTATE,
  findFamily: FIND_FAMILY,
  revokeFamily: REVOKE_FAMILY,
  revokeUser: REVOKE_USER,
  listFamilies: LIST_FAMILIES,
  isAccessTokenRevoked: IS_ACCESS_TOKEN_REVOKED,
  hitLoginAttempt: HIT_LOGIN_ATTEMPT,
  resetLoginAttempts: RESET_LOGIN_ATTEMPTS,
  denylistAccessToken: DENYLIST,
};

export type ScriptName = keyof typeof SCRIPTS;

/** The Lua text of each script, as Redis receives it. */
export const SCRIPT_LUA: Readonly<Record<ScriptName, string>> = Object.freeze(
  Object.fromEntries(Object.entries(SCRIPTS).map(([name, { lua }]) => [name, lua])) as Record<ScriptName, string>,
);

/** A script's arguments by name: every fixed one, and the optional ones that are given. */
export type ScriptArgs<S extends ScriptName> =
  (typeof SCRIPTS)[S] extends Script<infer A, infer O> ? { [K in A]: string } & { [K in O]?: string | undefined } : never;

/** Calls one script: its keys, its named arguments, and (a variadic script) the values after them. */
export type ScriptCall<S extends ScriptName> = (keys: string[], args: ScriptArgs<S>, rest?: string[]) => Promise<unknown>;

/** A script's ARGV: the fixed arguments in its order, then each optional one given as a name/value pair. */
function encodeArgs(script: Script<string, string>, args: Record<string, string | undefined>, rest: string[] = []): string[] {
  const argv = script.args.map((name) => args[name]!);
  for (const name of script.optional) {
    const value = args[name];
    if (value !== undefined) argv.push(name, value);
  }
  if (rest.length > 0 && !script.variadic) throw new TypeError('redis-scripts: this script takes no values after its arguments');
  return [...argv, ...rest];
}

/**
 * The ioredis command name of each script. It carries the start of the script's SHA-1, so two
 * versions of this library sharing one client never overwrite each other's commands.
 */
export const SCRIPT_COMMANDS: Readonly<Record<ScriptName, string>> = Object.freeze(
  Object.fromEntries(
    Object.entries(SCRIPT_LUA).map(([name, lua]) => [name, `ert_${name}_${createHash('sha1').update(lua).digest('hex').slice(0, 10)}`]),
  ) as Record<ScriptName, string>,
);

/** A script command as ioredis defines it: keys first (their count first when not declared), then arguments. */
type ScriptCommand = (...keysAndArgs: string[]) => Promise<unknown>;

export type Scripts = { [S in ScriptName]: ScriptCall<S> };

const registered = new WeakSet<object>();

/**
 * Defines the store's scripts on the client with `defineCommand`, once per client. ioredis then
 * sends EVALSHA (EVAL the first time on each connection) and, on NOSCRIPT (after a `SCRIPT FLUSH`
 * or a restart), sends the script again with EVAL: the store keeps working with no help.
 */
export function registerScripts(client: RedisClient): Scripts {
  const commands = client as unknown as Record<string, ScriptCommand | undefined>;
  if (!registered.has(client)) {
    for (const [name, { lua, numberOfKeys }] of Object.entries(SCRIPTS)) {
      const command = SCRIPT_COMMANDS[name as ScriptName];
      // Another copy of this module (the CJS and ESM builds in one app) may have defined it.
      if (typeof commands[command] !== 'function') client.defineCommand(command, { lua, numberOfKeys });
    }
    registered.add(client);
  }
  const bound: Partial<Record<ScriptName, ScriptCall<ScriptName>>> = {};
  for (const [name, script] of Object.entries(SCRIPTS) as [ScriptName, Script<string, string>][]) {
    const command = commands[SCRIPT_COMMANDS[name]]!;
    const count = script.numberOfKeys === undefined ? (keys: string[]) => [String(keys.length)] : () => [];
    bound[name] = (keys, args, rest) =>
      command.apply(client, [...count(keys), ...keys, ...encodeArgs(script, args as Record<string, string | undefined>, rest)]);
  }
  return bound as Scripts;
}

/** A script's array reply as strings; a missing hash field (Lua false: null, or false over RESP3) is undefined. */
function values(reply: unknown): (string | undefined)[] {
  if (!Array.isArray(reply)) throw new Error('RedisTokenStore: unexpected reply from a script');
  return reply.map((value) => (value === null || value === false || value === undefined ? undefined : String(value)));
}

/** A script's reply that is a list of strings (family ids). */
export function decodeIds(reply: unknown): string[] {
  return values(reply).filter((id): id is string => id !== undefined);
}

/** The values of `names` that start at `at` in a reply, by name. */
function fieldsAt<N extends string>(reply: (string | undefined)[], at: number, names: readonly N[]): Record<N, string | undefined> {
  return Object.fromEntries(names.map((name, i) => [name, reply[at + i]])) as Record<N, string | undefined>;
}

function toSession(familyId: string, fields: Record<(typeof SESSION_FIELDS)[number], string | undefined>): SessionRecord {
  const session: SessionRecord = {
    familyId,
    userId: fields.userId!,
    createdAt: Number(fields.createdAt),
    lastUsedAt: Number(fields.lastUsedAt),
    expiresAt: Number(fields.expiresAt),
    absoluteExpiresAt: Number(fields.absoluteExpiresAt),
  };
  if (fields.userAgent !== undefined) session.userAgent = fields.userAgent;
  if (fields.ip !== undefined) session.ip = fields.ip;
  return session;
}

/** Decodes a reply of the rotate or findFamily script: an outcome, then what FAMILY_REPLY names. */
export function decodeFamilyReply(familyId: string, reply: unknown): RotateResult | FindFamilyResult {
  const [outcome, ...rest] = values(reply);
  if (outcome === 'invalid') return { outcome, reason: rest[0] === 'wrong_proof' ? 'wrong_proof' : 'unknown' };
  if (outcome === 'reused') return { outcome, userId: rest[0]! };
  const fields = fieldsAt(rest, 0, FAMILY_REPLY);
  const found = { session: toSession(familyId, fields), userRecord: fields.subject! };
  if (outcome === 'rotated') return { outcome, ...found };
  if (outcome === 'found') return { outcome, ...found };
  if (outcome === 'retried') return { outcome, ...found, sealedSuccessor: fields.sealedSuccessor! };
  throw new Error(`RedisTokenStore: unexpected reply from a script: ${String(outcome)}`);
}

/** Decodes the listFamilies script's reply: per family its id, then what SESSION_FIELDS names. */
export function decodeSessions(reply: unknown): SessionRecord[] {
  const flat = values(reply);
  const stride = 1 + SESSION_FIELDS.length;
  const sessions: SessionRecord[] = [];
  for (let at = 0; at < flat.length; at += stride) sessions.push(toSession(flat[at]!, fieldsAt(flat, at + 1, SESSION_FIELDS)));
  return sessions;
}

/** Decodes the hitLoginAttempt script's reply: allowed, or the wait and the 1-based index of the limiting counter. */
export function decodeLoginAttempt(reply: unknown): { allowed: true } | { allowed: false; retryAfterMs: number; counter: number } {
  const [allowed, wait, counter] = values(reply);
  if (allowed === '1') return { allowed: true };
  if (allowed === '0') return { allowed: false, retryAfterMs: Number(wait), counter: Number(counter) };
  throw new Error(`RedisTokenStore: unexpected reply from the hitLoginAttempt script: ${String(allowed)}`);
}
