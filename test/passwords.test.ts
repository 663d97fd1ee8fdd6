import bcrypt from 'bcrypt';
import { createCredentialsVerifier, hashPassword, verifyPassword } from '../src/index.js';
import { isComputedAt, PHP_HASH, PHP_PASSWORD } from './helpers/php-hash.js';

describe('passwords', () => {
  let hash: string;
  beforeAll(async () => {
    hash = await hashPassword('hunter2-but-longer', { cost: 10 });
  });

  describe('hashPassword', () => {
    it('makes a bcrypt hash at cost 12 by default', async () => {
      expect(await hashPassword('pw')).toMatch(/^\$2b\$12\$/);
    });

    it.each([
      ['over 72 bytes', 'x'.repeat(73)],
      ['over 72 bytes in UTF-8 though 37 characters', 'é'.repeat(37)],
      ['empty', ''],
    ])('refuses a password %s', async (_name, plain) => {
      await expect(hashPassword(plain, { cost: 10 })).rejects.toThrow(RangeError);
    });

    it('accepts exactly 72 bytes', async () => {
      await expect(hashPassword('x'.repeat(72), { cost: 10 })).resolves.toMatch(/^\$2b\$10\$/);
    });

    it.each([9, 4, 32, 10.5])('refuses cost %s', async (cost) => {
      await expect(hashPassword('pw', { cost })).rejects.toThrow(/cost/);
    });
  });

  describe('verifyPassword', () => {
    it('is true for the password and false for another', async () => {
      expect(await verifyPassword('hunter2-but-longer', hash)).toBe(true);
      expect(await verifyPassword('hunter2', hash)).toBe(false);
    });

    it('is false for a 100-byte password whose first 72 bytes match', async () => {
      const long72 = 'y'.repeat(72);
      const stored = await bcrypt.hash(long72, 10);
      expect(await bcrypt.compare(long72 + 'z'.repeat(28), stored)).toBe(true); // what bcrypt alone would say
      expect(await verifyPassword(long72 + 'z'.repeat(28), stored)).toBe(false);
    });

    it('reads a password with a NUL byte in full: neither its prefix nor another suffix matches', async () => {
      const stored = await hashPassword('abc\0def', { cost: 10 });
      expect(await verifyPassword('abc\0def', stored)).toBe(true);
      expect(await verifyPassword('abc', stored)).toBe(false);
      expect(await verifyPassword('abc\0xyz', stored)).toBe(false);
    });

    it('verifies a $2y$ hash (PHP, Laravel) as the $2b$ it is', async () => {
      expect(await verifyPassword(PHP_PASSWORD, PHP_HASH)).toBe(true);
      expect(await verifyPassword('migrated from laravel', PHP_HASH)).toBe(false);
    });

    it('is false for a hash below cost 10 and for something that is not a hash', async () => {
      const weak = await bcrypt.hash('pw', 4);
      expect(await verifyPassword('pw', weak)).toBe(false);
      expect(await verifyPassword('pw', 'not-a-hash')).toBe(false);
      expect(await verifyPassword('pw', undefined as unknown as string)).toBe(false);
    });
  });

  describe('createCredentialsVerifier', () => {
    const users = new Map<string, { id: string; passwordHash: string; roles: string[] }>();
    beforeAll(() => {
      users.set('alice', { id: 'u1', passwordHash: hash, roles: ['admin'] });
      users.set('sso-only', { id: 'u2', passwordHash: '', roles: [] });
    });
    const verify = () => createCredentialsVerifier({ findUser: (name) => users.get(name) ?? null, cost: 10 });

    it('returns the user without its hash for the right password', async () => {
      expect(await verify()('alice', 'hunter2-but-longer', {} as never)).toEqual({
        id: 'u1',
        roles: ['admin'],
        scopes: undefined,
        claims: undefined,
      });
    });

    it('returns null for a wrong password and for an unknown user', async () => {
      const verifier = verify();
      expect(await verifier('alice', 'wrong', {} as never)).toBeNull();
      expect(await verifier('mallory', 'wrong', {} as never)).toBeNull();
    });

    it('runs one bcrypt comparison for an unknown user, as for a known one', async () => {
      const verifier = verify();
      await verifier('warm-up', 'x', {} as never);
      const compare = jest.spyOn(bcrypt, 'compare');
      await verifier('mallory', 'wrong', {} as never);
      await verifier('alice', 'wrong', {} as never);
      await verifier('alice', 'x'.repeat(100), {} as never);
      expect(await verifier('sso-only', '', {} as never)).toBeNull();
      expect(compare).toHaveBeenCalledTimes(4);
      compare.mockRestore();
    });

    it('logs in a user whose hash PHP made ($2y$)', async () => {
      const verifier = createCredentialsVerifier({ findUser: () => ({ id: 'u-php', passwordHash: PHP_HASH }), cost: 10 });
      expect(await verifier('php', PHP_PASSWORD, {} as never)).toEqual({
        id: 'u-php',
        roles: undefined,
        scopes: undefined,
        claims: undefined,
      });
    });

    it.each([
      ['a wrong password', 'alice'],
      ['an unknown user', 'mallory'],
      ['an empty hash (SSO only)', 'sso-only'],
      ['a $2y$ hash and a wrong password', 'php'],
      ['a $2x$ hash (crypt_blowfish bug-compatible, not verifiable)', 'php-2x'],
      ['a $2$ hash (the first bcrypt)', 'bcrypt-2'],
      ['an argon2 hash', 'argon2'],
      ['a hash that is not a string', 'not-a-string'],
    ])('makes %s cost one comparison bcrypt really computes, at the configured cost', async (_name, username) => {
      const found: Record<string, unknown> = {
        alice: { id: 'u1', passwordHash: hash },
        'sso-only': { id: 'u2', passwordHash: '' },
        php: { id: 'u3', passwordHash: PHP_HASH },
        'php-2x': { id: 'u4', passwordHash: `$2x$${PHP_HASH.slice(4)}` },
        'bcrypt-2': { id: 'u5', passwordHash: `$2$${PHP_HASH.slice(4)}` },
        argon2: { id: 'u6', passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG' },
        'not-a-string': { id: 'u7', passwordHash: 42 },
      };
      const verifier = createCredentialsVerifier({ findUser: (name) => (found[name] as never) ?? null, cost: 10 });
      const compare = jest.spyOn(bcrypt, 'compare');
      try {
        expect(await verifier(username, 'wrong', {} as never)).toBeNull();
        // The time of a failure is that of one bcrypt computation at cost 10: node-bcrypt refuses
        // a hash it does not compute at once, which is what told such accounts apart.
        expect(compare.mock.calls.map(([, compared]) => isComputedAt(10, compared))).toEqual([true]);
      } finally {
        compare.mockRestore();
      }
    });
  });
});
