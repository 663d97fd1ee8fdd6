/*
 * Attacks on the password check, over HTTP with real bcrypt: truncation at 72 bytes, NUL bytes,
 * oversized input, and telling accounts apart. Every refusal is the same 401 body.
 */
import bcrypt from 'bcrypt';
import express from 'express';
import request from 'supertest';
import { createAuthRouter, createCredentialsVerifier, hashPassword, MemoryTokenStore, type StoredUser } from '../../src/index.js';
import { expectError, SECRET } from '../helpers/app.js';
import { isComputedAt, PHP_HASH, PHP_PASSWORD } from '../helpers/php-hash.js';

const PASSWORD_72 = 'p'.repeat(60) + '0123456789ab'; // exactly 72 bytes
const PASSWORD_NUL = 'before\0after';

describe('password attacks', () => {
  let app: express.Express;
  let store: MemoryTokenStore;
  const failures: string[] = [];

  beforeAll(async () => {
    const users = new Map<string, StoredUser>([
      ['long', { id: 'u-long', passwordHash: await hashPassword(PASSWORD_72, { cost: 10 }) }],
      ['nul', { id: 'u-nul', passwordHash: await hashPassword(PASSWORD_NUL, { cost: 10 }) }],
      ['sso-only', { id: 'u-sso', passwordHash: '' }],
      ['legacy', { id: 'u-legacy', passwordHash: await bcrypt.hash('legacy', 4) }],
      ['php', { id: 'u-php', passwordHash: PHP_HASH }],
      ['php-2x', { id: 'u-php-2x', passwordHash: `$2x$${PHP_HASH.slice(4)}` }],
    ]);
    store = new MemoryTokenStore();
    app = express();
    app.use(
      '/auth',
      createAuthRouter({
        accessToken: { secret: SECRET },
        store,
        verifyCredentials: createCredentialsVerifier({ findUser: (name) => users.get(name) ?? null, cost: 10 }),
        hooks: { onLoginFailed: ({ username }) => void failures.push(username) },
      }),
    );
  });
  afterAll(() => store.close());

  const attempt = (username: string, password: string) => request(app).post('/auth/login').send({ username, password });

  it('control: the 72-byte password, the one with a NUL byte and a user migrated from PHP ($2y$) log in', async () => {
    expect((await attempt('long', PASSWORD_72)).status).toBe(200);
    expect((await attempt('nul', PASSWORD_NUL)).status).toBe(200);
    expect((await attempt('php', PHP_PASSWORD)).status).toBe(200);
  });

  it.each([
    ['a 100-byte password whose first 72 bytes are the real one', 'long', PASSWORD_72 + 'x'.repeat(28)],
    ['a 73-byte password whose first 72 bytes are the real one', 'long', PASSWORD_72 + 'x'],
    ['the part before the NUL byte', 'nul', 'before'],
    ['the part before the NUL byte, then another suffix', 'nul', 'before\0other'],
    ['an unknown user', 'mallory', PASSWORD_72],
    ['an account with no usable hash (SSO only), with an empty-looking password', 'sso-only', ' '],
    ['an account whose hash is below cost 10, with its right password', 'legacy', 'legacy'],
    ['an account migrated from PHP ($2y$), with a wrong password', 'php', PHP_PASSWORD.toUpperCase()],
    ['an account with a $2x$ hash (bug-compatible crypt_blowfish), with its right password', 'php-2x', PHP_PASSWORD],
  ])('refuses %s with the same 401', async (_name, username, password) => {
    const res = await attempt(username, password);
    expectError(res, 401, 'invalid_credentials');
    expect(res.body.message).toBe('The username or password is wrong.');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(failures.at(-1)).toBe(username);
  });

  it('runs exactly one bcrypt comparison, at cost 10, for each kind of failure (no timing tell)', async () => {
    const compare = jest.spyOn(bcrypt, 'compare');
    const kinds = [
      ['long', 'wrong'],
      ['mallory', 'wrong'],
      ['sso-only', 'wrong'],
      ['long', PASSWORD_72 + 'x'],
      ['php', 'wrong'],
      ['php-2x', 'wrong'],
      ['legacy', 'wrong'],
    ];
    try {
      for (const [username, password] of kinds) {
        compare.mockClear();
        await attempt(username!, password!);
        // A hash bcrypt does not compute (a $2y$ or $2x$ one) is refused at once: ~500 times faster.
        const computed = compare.mock.calls.map(([, hash]) => isComputedAt(10, hash));
        expect({ username, computed }).toEqual({ username, computed: [true] });
      }
    } finally {
      compare.mockRestore();
    }
  });

  it('refuses a password over 1,024 bytes with 400 before bcrypt sees it', async () => {
    const compare = jest.spyOn(bcrypt, 'compare');
    try {
      expectError(await attempt('long', 'x'.repeat(1025)), 400, 'invalid_request');
      expect(compare).not.toHaveBeenCalled();
    } finally {
      compare.mockRestore();
    }
  });
});
