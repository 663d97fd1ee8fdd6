import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import { makeApp, PASSWORD } from '../helpers/app.js';
import { startDemoServer, type DemoServer } from '../helpers/demo-server.js';

/**
 * The README's Node-service example, run as written (its settings come from the environment)
 * against a real server, and against the demo as the README tells: the first run logs in and keeps
 * the refresh token in its file, the second restores the session from it without logging in.
 */
const root = join(__dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const code = /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### In a Node service')))![1]!;
// Inside the package, so that require('express-refresh-tokens/client') resolves to this build.
const script = join(root, 'test', 'client', `.readme-node-${process.pid}.cjs`);
const dirs: string[] = [];

beforeAll(() => writeFileSync(script, code));
afterAll(() => {
  rmSync(script, { force: true });
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function runner(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'ert-readme-node-'));
  dirs.push(dir);
  const run = async () =>
    (await promisify(execFile)(process.execPath, [script], { cwd: dir, env: { ...process.env, ...env }, timeout: 20_000 })).stdout.trim();
  return { dir, run };
}

describe("the README's Node service example", () => {
  let server: Server;
  let base: string;
  const logins: number[] = [];

  beforeAll(async () => {
    const t = await makeApp({ refreshToken: { transport: 'body' } });
    const app = express();
    app.use((req, res, next) => {
      if (req.path === '/auth/login') res.on('finish', () => logins.push(res.statusCode));
      next();
    });
    app.get('/api/me', t.auth.requireAccessToken(), (req, res) => {
      res.json({ userId: req.auth!.userId });
    });
    app.use(t.app);
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('logs in once, then restores the session from storage', async () => {
    const { dir, run } = runner({ API_URL: base, API_USER: 'alice', API_PASSWORD: PASSWORD });
    expect(await run()).toBe(`200 { userId: 'u-alice' }`);
    expect(logins).toEqual([200]);
    expect(statSync(join(dir, '.refresh-token')).mode & 0o777).toBe(0o600);
    const stored = readFileSync(join(dir, '.refresh-token'), 'utf8');

    expect(await run()).toBe(`200 { userId: 'u-alice' }`);
    expect(logins).toEqual([200]); // restored with the stored refresh token, which rotated
    expect(readFileSync(join(dir, '.refresh-token'), 'utf8')).not.toBe(stored);
  }, 30_000);
});

describe("the README's Node service example against the demo (npm run demo), as the README says to try it", () => {
  let demo: DemoServer;
  beforeAll(async () => {
    demo = await startDemoServer();
  });
  afterAll(() => demo?.stop());

  it('logs in at /auth-body, then restores the session from the file', async () => {
    const { dir, run } = runner({ API_URL: demo.base, API_AUTH_PATH: '/auth-body', API_USER: 'demo', API_PASSWORD: 'demo-password' });
    const first = await run();
    expect(first).toMatch(/^200 \{\n? *userId: 'user-1',\n? *name: 'demo',/);
    expect(first).toContain("amr: [ 'pwd' ]");
    const stored = readFileSync(join(dir, '.refresh-token'), 'utf8');
    const second = await run();
    expect(second).toMatch(/^200 \{\n? *userId: 'user-1',/);
    expect(second.replace(/sessionId: '[^']+'|expiresAt: [^\n]+/g, '')).toBe(first.replace(/sessionId: '[^']+'|expiresAt: [^\n]+/g, ''));
    expect(readFileSync(join(dir, '.refresh-token'), 'utf8')).not.toBe(stored);
  }, 30_000);

  it('is refused with transport_mismatch at the cookie mount, and keeps no token', async () => {
    const { dir, run } = runner({ API_URL: demo.base, API_AUTH_PATH: '/auth', API_USER: 'demo', API_PASSWORD: 'demo-password' });
    const error = await run().catch((e: { stderr: string }) => e.stderr);
    expect(error).toMatch(/AuthClientError: This server sends the refresh token by cookie transport/);
    expect(() => statSync(join(dir, '.refresh-token'))).toThrow();
  }, 30_000);
});
