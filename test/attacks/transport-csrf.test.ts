import express from 'express';
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
      expectError(await refresh(t, 'A'.repeat(10_000)), 401, 'invalid_grant');
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
      const res = await request(t.app)
        .post('/auth/login')
        .set('Sec-Fetch-Site', 'cross-site')
        .send({ username: 'alice', password: PASSWORD });
      expectError(res, 403, 'csrf_rejected');
    });

    it("refuses an Origin on the request's host with another scheme: plain http on an https request, or no http(s) at all", async () => {
      const app = express();
      app.set('trust proxy', 'loopback'); // the app behind a TLS-terminating proxy on this machine
      app.use(t.app);
      const login = (origin: string, proto: string) =>
        request(app)
          .post('/auth/login')
          .set({ Host: 'app.example', Origin: origin, 'X-Forwarded-Proto': proto })
          .send({ username: 'alice', password: PASSWORD });
      // Without Sec-Fetch-Site (older browsers) the Origin is all there is to go by.
      expectError(await login('http://app.example', 'https'), 403, 'csrf_rejected');
      for (const origin of ['javascript://app.example', 'file://app.example', 'ftp://app.example']) {
        expectError(await login(origin, 'http'), 403, 'csrf_rejected');
      }
      expect((await login('https://app.example', 'https')).status).toBe(200);
      expect((await login('http://app.example', 'http')).status).toBe(200);
    });

    it('compares the host without letter case, as browsers send Origin in lower case', async () => {
      const res = await request(t.app)
        .post('/auth/login')
        .set({ Host: 'App.Example', Origin: 'https://app.example' })
        .send({ username: 'alice', password: PASSWORD });
      expect(res.status).toBe(200);
    });

    it('refuses Origin: null', async () => {
      const res = await request(t.app).post('/auth/login').set('Origin', 'null').send({ username: 'alice', password: PASSWORD });
      expectError(res, 403, 'csrf_rejected');
    });

    it("accepts the request's own origin, a trusted origin, and clients that send neither header", async () => {
      const own = await request(t.app)
        .post('/auth/login')
        .set('Host', 'api.example.com')
        .set('Origin', 'https://api.example.com')
        .set('Sec-Fetch-Site', 'same-origin')
        .send({ username: 'alice', password: PASSWORD });
      expect(own.status).toBe(200);
      const trusting = await makeApp({ trustedOrigins: ['https://app.example.com/'] });
      const trusted = await request(trusting.app)
        .post('/auth/login')
        .set('Origin', 'https://app.example.com')
        .set('Sec-Fetch-Site', 'cross-site')
        .send({ username: 'alice', password: PASSWORD });
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

    it('refuses a cross-site form POST to /logout without the cookie with 403, and clears nothing', async () => {
      // SameSite keeps the victim's cookie off a cross-site request; the response must not touch it either.
      const res = await request(t.app)
        .post('/auth/logout')
        .set('Origin', 'https://evil.example')
        .set('Sec-Fetch-Site', 'cross-site')
        .type('form')
        .send('x=1');
      expectError(res, 403, 'csrf_rejected');
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it("plants nothing when an app-level express.urlencoded() lets a cross-site form POST the attacker's refreshToken", async () => {
      const app = express();
      app.use(express.urlencoded({ extended: false }));
      app.use(t.app);
      const attacker = await login(t);
      for (const headers of [{ Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': 'cross-site' }]) {
        const res = await request(app).post('/auth/refresh').set(headers).type('form').send(`refreshToken=${attacker.refreshToken}`);
        expectError(res, 403, 'csrf_rejected');
        expect(res.headers['set-cookie']).toBeUndefined();
      }
      // Not rotated: the attacker's token is still the current one.
      expect((await refresh(t, attacker.refreshToken)).status).toBe(200);
    });

    it('never answers a refresh token sent in the body with Set-Cookie: 400 with cookie transport, nothing rotated', async () => {
      const session = await login(t);
      for (const path of ['/auth/refresh', '/auth/logout']) {
        const res = await request(t.app).post(path).send({ refreshToken: session.refreshToken });
        expectError(res, 400, 'invalid_request');
        expect(res.headers['set-cookie']).toBeUndefined();
      }
      expect((await refresh(t, session.refreshToken)).status).toBe(200);
    });

    it('clears the cookie on /logout only when one was presented', async () => {
      const session = await login(t);
      const bare = await request(t.app).post('/auth/logout').set('Authorization', `Bearer ${session.accessToken}`);
      expect(bare.status).toBe(204);
      expect(bare.headers['set-cookie']).toBeUndefined();
      const withCookie = await request(t.app).post('/auth/logout').set('Cookie', cookieHeader(session.refreshToken));
      expect(withCookie.status).toBe(204);
      expect(refreshCookie(withCookie)!.value).toBe('');
    });

    it('does not apply to a body-borne token with transport: body (it cannot ride along by itself)', async () => {
      const native = await makeApp({ refreshToken: { transport: 'body' } });
      const session = await request(native.app).post('/auth/login').send({ username: 'alice', password: PASSWORD });
      const res = await request(native.app)
        .post('/auth/refresh')
        .set('Origin', 'https://native.example')
        .send({ refreshToken: session.body.refreshToken });
      expect(res.status).toBe(200);
    });

    it('treats a Sec-Fetch-Site sent twice, or of an unknown value, as cross-site', async () => {
      // An array is sent as repeated header lines.
      for (const site of [
        ['cross-site', 'cross-site'],
        ['same-origin', 'same-origin'],
        'same-origin, cross-site',
        'Same-Origin',
        'bogus',
        '',
      ]) {
        const res = await request(t.app)
          .post('/auth/login')
          .set('Sec-Fetch-Site', site as string)
          .send({ username: 'alice', password: PASSWORD });
        expectError(res, 403, 'csrf_rejected');
      }
      for (const site of ['same-origin', 'same-site', 'none']) {
        const res = await request(t.app).post('/auth/login').set('Sec-Fetch-Site', site).send({ username: 'alice', password: PASSWORD });
        expect(res.status).toBe(200);
      }
    });

    it("refuses an Origin sent twice, even the request's own or a trusted one", async () => {
      const trusting = await makeApp({ trustedOrigins: ['https://app.example.com'] });
      for (const origin of [
        ['https://api.example.com', 'https://api.example.com'],
        ['https://app.example.com', 'https://app.example.com'],
      ]) {
        const res = await request(trusting.app)
          .post('/auth/login')
          .set('Host', 'api.example.com')
          .set('Origin', origin as unknown as string)
          .send({ username: 'alice', password: PASSWORD });
        expectError(res, 403, 'csrf_rejected');
      }
    });
  });
});
