import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { DEFAULTS } from './config/defaults.js';
import { functionOption, groupOption, integerOption } from './config/values.js';
import { ConfigurationError } from './errors.js';
import type { AuthUser, VerifyCredentials } from './types.js';

/** bcrypt reads at most 72 bytes; anything after would be silently ignored. */
const MAX_BCRYPT_PASSWORD_BYTES = 72;
/** The lowest bcrypt cost hashed or accepted: faster hashes are too cheap to guess against. */
const MIN_BCRYPT_COST = 10;

/**
 * Why a password cannot be hashed faithfully by bcrypt, or `undefined` when it can: over 72 bytes
 * the rest would be ignored. (A NUL byte is fine: bcrypt 6 hashes every byte before it and after.)
 */
function unhashable(plain: unknown): string | undefined {
  if (typeof plain !== 'string' || plain.length === 0) return 'must be a non-empty string';
  if (Buffer.byteLength(plain, 'utf8') > MAX_BCRYPT_PASSWORD_BYTES) return `must be at most ${MAX_BCRYPT_PASSWORD_BYTES} bytes`;
  return undefined;
}

const MAX_BCRYPT_COST = 31;

function isCost(cost: unknown): cost is number {
  return Number.isInteger(cost) && (cost as number) >= MIN_BCRYPT_COST && (cost as number) <= MAX_BCRYPT_COST;
}

function costOption(value: unknown, option: string): number {
  return integerOption(value, DEFAULTS.passwords.cost, option, MIN_BCRYPT_COST, MAX_BCRYPT_COST);
}

/**
 * A stored hash as bcrypt compares it, or `undefined` when it cannot be compared: bcrypt at cost
 * 10 or more, as `$2a$`, `$2b$` or `$2y$`. `$2y$` (PHP's, and so Laravel's) is the same algorithm
 * as `$2b$`, which node-bcrypt knows only by that name: it refuses `$2y$` at once. `$2x$`
 * (crypt_blowfish's bug-compatible variant) and the first `$2$` compute other hashes, and
 * anything else is not bcrypt.
 */
function comparableHash(hash: unknown): string | undefined {
  const match = typeof hash === 'string' ? /^\$2([aby])\$(\d{2})\$[./A-Za-z0-9]{53}$/.exec(hash) : null;
  if (match === null || !isCost(Number(match[2]))) return undefined;
  return match[1] === 'y' ? `$2b$${match[0].slice(4)}` : match[0];
}

/** One bcrypt comparison; `false` for a password `hashPassword` would refuse, after the same work. */
async function compareWith(plain: string, comparable: string): Promise<boolean> {
  const acceptable = unhashable(plain) === undefined;
  const matches = await bcrypt.compare(acceptable ? plain : '\u0001never matches', comparable);
  return acceptable && matches;
}

/**
 * Hashes a password with bcrypt (asynchronously, on libuv's thread pool: the event loop is never
 * blocked). Refuses passwords over 72 bytes, and costs below 10. `options.cost`: the bcrypt cost,
 * an integer from 10 to 31; default 12.
 */
export async function hashPassword(plain: string, options: { cost?: number } = {}): Promise<string> {
  const cost = costOption(groupOption(options, 'hashPassword').cost, 'hashPassword.cost');
  const problem = unhashable(plain);
  if (problem) throw new RangeError(`hashPassword: the password ${problem}`);
  return bcrypt.hash(plain, cost);
}

/**
 * Compares a password with a bcrypt hash (`$2a$`, `$2b$`, or `$2y$` as PHP writes them). `false`
 * for a password `hashPassword` would refuse (the comparison still runs, so that takes as long as
 * a mismatch), and at once for a hash that is not usable bcrypt or is below cost 10
 * (`createCredentialsVerifier` compares against its stand-in then, so such users cannot be told
 * apart by timing).
 */
export async function verifyPassword(plain: string, hash: string): Promise<boolean> {
  const comparable = comparableHash(hash);
  return comparable !== undefined && compareWith(plain, comparable);
}

/** A user as `createCredentialsVerifier`'s `findUser` answers it: the `AuthUser` and its stored hash. */
export interface StoredUser extends AuthUser {
  /** A bcrypt hash (`$2a$`, `$2b$` or `$2y$`, cost 10 or more), as `hashPassword` writes it. */
  passwordHash: string;
}

/** The options of `createCredentialsVerifier`. */
export interface CredentialsVerifierOptions {
  /** Looks a user up by the username given at login; `null` (or `undefined`) when there is none. */
  findUser(username: string): Promise<StoredUser | null | undefined> | StoredUser | null | undefined;
  /** The bcrypt cost of your stored hashes, used for the stand-in comparison for unknown users. Default 12. */
  cost?: number;
}

/**
 * Builds `verifyCredentials` from a user lookup. A user who is unknown, or whose stored hash is
 * unusable (not bcrypt that `verifyPassword` compares, or below cost 10), costs one bcrypt
 * comparison against a stand-in hash of the same cost, so every failure takes the same time and
 * answers the same way.
 */
export function createCredentialsVerifier(options: CredentialsVerifierOptions): VerifyCredentials {
  const group = groupOption(options, 'createCredentialsVerifier');
  const findUser = functionOption<CredentialsVerifierOptions['findUser']>(
    group.findUser,
    'createCredentialsVerifier.findUser',
    'async (username) => ({ id, passwordHash, roles?, scopes?, claims? }) or null',
  );
  if (!findUser)
    throw new ConfigurationError(
      'createCredentialsVerifier.findUser',
      'is required: async (username) => ({ id, passwordHash, roles?, scopes?, claims? }) or null',
    );
  const cost = costOption(group.cost, 'createCredentialsVerifier.cost');
  // Made at once, so the first unknown user does not pay for it (and stand out by taking longer).
  const standInHash = bcrypt.hash(randomBytes(16).toString('base64url'), cost);
  standInHash.catch(() => undefined);

  return async (username, password) => {
    const user = await findUser(username);
    const comparable = user ? comparableHash(user.passwordHash) : undefined;
    if (!user || comparable === undefined) {
      await bcrypt.compare(password, await standInHash);
      return null;
    }
    if (!(await compareWith(password, comparable))) return null;
    const { id, roles, scopes, claims } = user;
    return { id, roles, scopes, claims };
  };
}
