/*
 * Published secrets: a JWT cracking tool tries every secret it knows, and its dictionary holds
 * whatever a README or an example ever printed. The library refuses those secrets, and the demo
 * started without JWT_SECRET signs with a random one, so tokens forged with them get nowhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { createAuthRouter, MemoryTokenStore, requireAccessToken } from '../../src/index.js';
import { claimsOf } from '../helpers/jwt.js';

/** Every secret the README and the examples have shown (`git log -p -- README.md examples`). */
const PUBLISHED = ['change-me-to-32-or-more-random-bytes!!', 'demo-only-secret-change-me-0123456789abcdef'];

describe('published secrets', () => {
  const store = new MemoryTokenStore();
  afterAll(() => store.close());

  it.each(PUBLISHED)('createAuthRouter refuses %s, as a string and as bytes', (secret) => {
    for (const key of [secret, Buffer.from(secret)]) {
      expect(() => createAuthRouter({ accessToken: { secret: key }, store, verifyCredentials: async () => null })).toThrow(
        expect.objectContaining({ name: 'ConfigurationError', option: 'accessToken.secret', message: expect.stringMatching(/published/) }),
      );
    }
  });

  it.each(PUBLISHED)('requireAccessToken refuses %s', (secret) => {
    expect(() => requireAccessToken({ secret })).toThrow(
      expect.objectContaining({ name: 'ConfigurationError', option: 'requireAccessToken.secret' }),
    );
  });

  describe('the demo started without JWT_SECRET', () => {
    let demo: ChildProcess;
    let base: string;
    let output = '';

    beforeAll(async () => {
      const probe = createServer().listen(0, '127.0.0.1');
      await once(probe, 'listening');
      const port = (probe.address() as { port: number }).port;
      probe.close();
      const { JWT_SECRET: _unset, ...env } = process.env;
      demo = spawn(process.execPath, [join(__dirname, '..', '..', 'examples', 'basic', 'server.mjs')], {
        env: { ...env, PORT: String(port) },
      });
      demo.stdout!.on('data', (chunk) => (output += chunk));
      demo.stderr!.on('data', (chunk) => (output += chunk));
      while (!output.includes(`http://localhost:${port}`)) {
        if (demo.exitCode !== null) throw new Error(`the demo exited: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      base = `http://127.0.0.1:${port}`;
    }, 30_000);
    afterAll(() => demo?.kill());

    it('says it signs with a random secret made for this start', () => {
      expect(output).toMatch(/JWT_SECRET is not set: .*random secret/);
    });

    it('refuses a token forged with any published secret (an admin role here), while its own tokens pass', async () => {
      const login = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base },
        body: JSON.stringify({ username: 'demo', password: 'demo-password' }),
      });
      expect(login.status).toBe(200);
      const { accessToken } = (await login.json()) as { accessToken: string };
      const me = (token: string) => fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      expect((await me(accessToken)).status).toBe(200);

      const claims = claimsOf(accessToken);
      for (const secret of PUBLISHED) {
        const forged = jwt.sign({ ...claims, roles: ['admin'] }, secret, { algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt' } });
        const res = await me(forged);
        expect({ secret, status: res.status, body: await res.json() }).toEqual({
          secret,
          status: 401,
          body: { error: 'invalid_token', message: expect.any(String) },
        });
      }
    });
  });
});
