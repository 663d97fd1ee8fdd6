import express from 'express';
import request from 'supertest';
import * as library from '../../src/index.js';
import {
  ConfigurationError,
  createAuth,
  createCredentialsVerifier,
  MemoryTokenStore,
  type AuthOptions,
  type RefreshTokenStore,
} from '../../src/index.js';
import { expectError, passwordHash, PASSWORD, SECRET } from '../helpers/app.js';
import { readmeBlock, runBlock } from '../helpers/readme.js';
import { attempt, describeLoginThrottle, expectThrottled, fail, throttleApp } from '../suites/login-throttle.js';
import { memoryStores } from '../suites/shared.js';

describeLoginThrottle('the memory store', memoryStores());

/** A store as a third party writes it: the required methods only, the throttle's left out. */
function customStore(): RefreshTokenStore {
  const memory = new MemoryTokenStore();
  return {
    createFamily: (...args) => memory.createFamily(...args),
    rotate: (...args) => memory.rotate(...args),
    revokeFamily: (...args) => memory.revokeFamily(...args),
    revokeUser: (...args) => memory.revokeUser(...args),
    listFamilies: (...args) => memory.listFamilies(...args),
    denylistAccessToken: (...args) => memory.denylistAccessToken(...args),
    isAccessTokenRevoked: (...args) => memory.isAccessTokenRevoked(...args),
    close: () => memory.close(),
  };
}

describe('the login throttle', () => {
  describe('with a custom store that has no throttle methods', () => {
    it('counts in process memory, and warns at start-up that it does', async () => {
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const t = await throttleApp({ store: customStore() });
        expect(warn.mock.calls).toEqual([
          [expect.stringContaining('README "Password guessing"'), { code: 'ERT_LOGIN_THROTTLE_IN_MEMORY' }],
        ]);
        await fail(t, 'alice', 5);
        expectThrottled(await attempt(t, 'alice', PASSWORD), 900);
      } finally {
        warn.mockRestore();
      }
    });

    it('refuses at start-up a store with only one of the two methods', () => {
      const store = Object.assign(customStore(), { hitLoginAttempt: async () => ({ allowed: true as const }) });
      expect(() => createAuth({ accessToken: { secret: SECRET }, store })).toThrow(expect.objectContaining({ option: 'store' }));
    });
  });

  describe('when the counters cannot be reached', () => {
    it('answers 503 store_unavailable without checking the password (fail closed)', async () => {
      const store = Object.assign(new MemoryTokenStore(), {
        hitLoginAttempt: async () => {
          throw new Error('connection lost');
        },
      });
      const t = await throttleApp({ store });
      expectError(await attempt(t, 'alice', PASSWORD), 503, 'store_unavailable');
      expect(t.checks.count).toBe(0);
    });

    it('answers 503 when they do not answer within storeTimeoutMs', async () => {
      const store = Object.assign(new MemoryTokenStore(), { hitLoginAttempt: () => new Promise<never>(() => undefined) });
      const t = await throttleApp({ store, storeTimeoutMs: 50 });
      expectError(await attempt(t, 'alice', PASSWORD), 503, 'store_unavailable');
      expect(t.checks.count).toBe(0);
    });
  });

  describe('the loginThrottle option', () => {
    const options = (loginThrottle: unknown): AuthOptions =>
      ({ accessToken: { secret: SECRET }, store: new MemoryTokenStore(), loginThrottle }) as AuthOptions;

    it.each([
      [{ perUsernameAndIp: { failures: 0 } }, 'loginThrottle.perUsernameAndIp.failures'],
      [{ perUsernameAndIp: { failures: 2.5 } }, 'loginThrottle.perUsernameAndIp.failures'],
      [{ perUsernameAndIp: { window: 'soon' } }, 'loginThrottle.perUsernameAndIp.window'],
      [{ perIp: { failures: '100' } }, 'loginThrottle.perIp.failures'],
      [{ perIp: { window: -1 } }, 'loginThrottle.perIp.window'],
      [{ perIp: { limit: 5 } }, 'loginThrottle.perIp.limit'],
      [{ perIp: 100 }, 'loginThrottle.perIp'],
      [{ ipv6Prefix: 129 }, 'loginThrottle.ipv6Prefix'],
      [{ ipv6Prefix: 16 }, 'loginThrottle.ipv6Prefix'],
      [{ perUser: {} }, 'loginThrottle.perUser'],
      ['on', 'loginThrottle'],
    ])('refuses %j, naming %s', (value, option) => {
      expect(() => createAuth(options(value))).toThrow(ConfigurationError);
      expect(() => createAuth(options(value))).toThrow(expect.objectContaining({ option }));
    });

    it('takes a partial object over the defaults, and true as the defaults', async () => {
      const t = await throttleApp({ store: new MemoryTokenStore(), loginThrottle: { perUsernameAndIp: { failures: 2 } } });
      await fail(t, 'alice', 2);
      expectThrottled(await attempt(t, 'alice', PASSWORD), 900);
      const on = await throttleApp({ store: new MemoryTokenStore(), loginThrottle: true });
      await fail(on, 'alice', 5);
      expectThrottled(await attempt(on, 'alice', PASSWORD), 900);
    });

    it('groups IPv6 clients by the configured ipv6Prefix', async () => {
      const t = await throttleApp({ store: new MemoryTokenStore(), loginThrottle: { ipv6Prefix: 64 } });
      await fail(t, 'alice', 5, '2001:db8:0:1::1');
      expect((await attempt(t, 'alice', PASSWORD, '2001:db8:0:2::1')).status).toBe(200);
      expectThrottled(await attempt(t, 'alice', PASSWORD, '2001:db8:0:1:ffff::1'), 900);
      expect(t.throttled[0]).toMatchObject({ ip: '2001:db8:0:1::/64' });
    });

    it('throttles nothing on a router without /login', async () => {
      const auth = createAuth({ accessToken: { secret: SECRET }, store: new MemoryTokenStore() });
      const app = express();
      app.use('/auth', auth.router);
      expect((await request(app).post('/auth/login').send({ username: 'alice', password: PASSWORD })).status).toBe(404);
    });
  });
});

describe('the README "Password guessing" example', () => {
  it('runs: trust proxy 1 takes the client from X-Forwarded-For, and 3 failures in 30 minutes throttle', async () => {
    const hash = await passwordHash();
    const verifyCredentials = createCredentialsVerifier({
      findUser: (name) => (name === 'alice' ? { id: 'u-alice', passwordHash: hash } : null),
      cost: 10,
    });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    // The block takes the default clock: only Date stands still here, so that Retry-After is the
    // window exactly, however long bcrypt takes on a busy machine.
    const realTimers = [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ] as const;
    jest.useFakeTimers({ doNotFake: [...realTimers], now: Date.now() });
    try {
      const scene = { accessToken: { secret: SECRET }, store: new MemoryTokenStore(), verifyCredentials };
      const { app } = (await runBlock(readmeBlock('## Password guessing'), scene, { express, 'express-refresh-tokens': library }, [
        'app',
      ])) as { app: express.Express };
      const login = (password: string, ip: string) =>
        request(app).post('/auth/login').set('X-Forwarded-For', ip).send({ username: 'alice', password });
      for (let i = 0; i < 3; i++) expectError(await login('wrong', '203.0.113.7'), 401, 'invalid_credentials');
      expectThrottled(await login(PASSWORD, '203.0.113.7'), 1800);
      expect((await login(PASSWORD, '198.51.100.23')).status).toBe(200);
      expect(warn).toHaveBeenCalledWith('login throttled', {
        username: 'alice',
        ip: '203.0.113.7',
        limit: 'perUsernameAndIp',
        retryAfter: 1800,
      });
    } finally {
      jest.useRealTimers();
      warn.mockRestore();
    }
  });
});
