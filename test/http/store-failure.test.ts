import request from 'supertest';
import { MemoryTokenStore, type RefreshTokenStore } from '../../src/index.js';
import { expectError, login, makeApp, me, PASSWORD, refresh } from '../helpers/app.js';

describe('the router when the store fails', () => {
  describe('when the store fails', () => {
    const hanging = (): RefreshTokenStore => {
      const store = new MemoryTokenStore();
      const never = () => new Promise<never>(() => undefined);
      return Object.assign(store, {
        createFamily: never,
        rotate: never,
        revokeFamily: never,
        revokeUser: never,
        listFamilies: never,
        isAccessTokenRevoked: never,
        denylistAccessToken: never,
      });
    };
    const failing = (): RefreshTokenStore => {
      const store = new MemoryTokenStore();
      const fail = async () => {
        throw new Error('connection lost');
      };
      return Object.assign(store, { createFamily: fail, rotate: fail, revokeUser: fail, listFamilies: fail, isAccessTokenRevoked: fail });
    };

    it('answers 503 store_unavailable when the store rejects', async () => {
      const broken = await makeApp({ store: failing() });
      const res = await request(broken.app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
      expectError(res, 503, 'store_unavailable');
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(broken.events.map((e) => e.name)).toEqual([]);
    });

    it('answers 503 store_unavailable when the store does not answer in time', async () => {
      const healthy = await makeApp();
      const session = await login(healthy);
      const slow = await makeApp({ store: hanging(), storeTimeoutMs: 100 });
      const started = Date.now();
      const res = await refresh(slow, session.refreshToken);
      expectError(res, 503, 'store_unavailable');
      expect(Date.now() - started).toBeLessThan(2000);
      expectError(
        await request(slow.app).get('/auth/sessions').set('Authorization', `Bearer ${session.accessToken}`),
        503,
        'store_unavailable',
      );
    });

    it('fails closed in requireAccessToken({ store }) too, and not without a store', async () => {
      const healthy = await makeApp();
      const session = await login(healthy);
      const broken = await makeApp({ store: failing() });
      expectError(await me(broken, session.accessToken), 503, 'store_unavailable');
      expect((await request(broken.app).get('/stateless').set('Authorization', `Bearer ${session.accessToken}`)).status).toBe(200);
    });
  });
});
