import request from 'supertest';
import { cookieHeader, expectError, login, makeApp, PASSWORD, refresh, refreshCookie, type TestApp } from '../helpers/app.js';

describe('transport and CSRF attacks', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });

  describe('a refresh token presented twice', () => {
    it('refuses two refresh cookies with 400, and rotates nothing', async () => {
      const victim = await login(t);
      const attacker = await login(t);
      const res = await request(t.app)
        .post('/auth/refresh')
        .set('Cookie', `${cookieHeader(attacker.refreshToken)}; ${cookieHeader(victim.refreshToken)}`);
      expectError(res, 400, 'invalid_request');
      expect((await refresh(t, victim.refreshToken)).status).toBe(200);
    });

    it('refuses a cookie and a body field with 400, whatever the transport', async () => {
      for (const transport of ['cookie', 'body'] as const) {
        const app = await makeApp({ refreshToken: { transport } });
        const res = await request(app.app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
        const token = transport === 'body' ? res.body.refreshToken : refreshCookie(res)!.value;
        const twice = await request(app.app).post('/auth/refresh').set('Cookie', cookieHeader(token)).send({ refreshToken: token });
        expectError(twice, 400, 'invalid_request');
      }
    });

    it('refuses a non-string refreshToken with 400', async () => {
      for (const refreshToken of [42, ['a'], { token: 'a' }, null]) {
        expectError(await request(t.app).post('/auth/refresh').send({ refreshToken }), 400, 'invalid_request');
      }
    });

    it('refuses an overlong token with 401 without asking the store', async () => {
      const res = await request(t.app).post('/auth/refresh').send({ refreshToken: 'A'.repeat(10_000) });
      expectError(res, 401, 'invalid_grant');
    });
  });

  describe('CSRF', () => {
    it('refuses /login from an untrusted Origin with 403 csrf_rejected', async () => {
      const res = await request(t.app)
        .post('/auth/login')
        .set('Origin', 'https://evil.example')
        .send({ username: 'alice', password: PASSWORD });
      expectError(res, 403, 'csrf_rejected');
      expect(t.events).toEqual([]);
    });

    it('refuses /login with Sec-Fetch-Site: cross-site', async () => {
      const res = await request(t.app).post('/auth/login').set('Sec-Fetch-Site', 'cross-site').send({ username: 'alice', password: PASSWORD });
      expectError(res, 403, 'csrf_rejected');
    });

    it('refuses Origin: null', async () => {
      const res = await request(t.app).post('/auth/login').set('Origin', 'null').send({ username: 'alice', password: PASSWORD });
      expectError(res, 403, 'csrf_rejected');
    });

    it('accepts the request\'s own origin, a trusted origin, and clients that send neither header', async () => {
      const own = await request(t.app).post('/auth/login').set('Host', 'api.example.com').set('Origin', 'https://api.example.com')
        .set('Sec-Fetch-Site', 'same-origin').send({ username: 'alice', password: PASSWORD });
      expect(own.status).toBe(200);
      const trusting = await makeApp({ trustedOrigins: ['https://app.example.com/'] });
      const trusted = await request(trusting.app).post('/auth/login').set('Origin', 'https://app.example.com')
        .set('Sec-Fetch-Site', 'cross-site').send({ username: 'alice', password: PASSWORD });
      expect(trusted.status).toBe(200);
      expect((await request(t.app).post('/auth/login').send({ username: 'alice', password: PASSWORD })).status).toBe(200);
    });

    it('refuses a cookie-borne /refresh or /logout from another site, and changes nothing', async () => {
      const session = await login(t);
      for (const path of ['/auth/refresh', '/auth/logout']) {
        const res = await request(t.app).post(path).set('Cookie', cookieHeader(session.refreshToken)).set('Origin', 'https://evil.example');
        expectError(res, 403, 'csrf_rejected');
      }
      expect((await refresh(t, session.refreshToken)).status).toBe(200);
    });

    it('does not apply to a refresh token sent in the body (it cannot ride along by itself)', async () => {
      const session = await login(t);
      const res = await request(t.app).post('/auth/refresh').set('Origin', 'https://native.example').send({ refreshToken: session.refreshToken });
      expect(res.status).toBe(200);
    });
  });
});
