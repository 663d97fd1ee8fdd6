import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import { makeApp, PASSWORD } from '../helpers/app.js';

/**
 * The README's Node-service example, run as written (only the API's URL changed) against a real
 * server: the first run logs in and keeps the refresh token in its file, the second restores the
 * session from it without logging in.
 */
const root = join(__dirname, '..', '..');
let server: Server;
let base: string;
const logins: number[] = [];
let dir: string;

beforeAll(async () => {
  const t = await makeApp({ refreshToken: { transport: 'body' } });
  const app = express();
  app.use((req, res, next) => {
    if (req.path === '/auth/login') res.on('finish', () => logins.push(res.statusCode));
    next();
  });
  app.get('/reports', t.auth.requireAccessToken(), (req, res) => {
    res.json({ reports: [], userId: req.auth!.userId, since: req.query.since });
  });
  app.use(t.app);
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'ert-readme-node-'));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

it("runs the README's Node service example: logs in once, then restores the session from storage", async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### In a Node service'));
  const code = /```js\n([\s\S]*?)```/.exec(section)![1]!.replace("'https://api.example.com'", JSON.stringify(base));
  // Inside the package, so that require('express-refresh-tokens/client') resolves to this build.
  const script = join(root, 'test', 'client', `.readme-node-${process.pid}.cjs`);
  writeFileSync(script, code);
  try {
    const run = () =>
      promisify(execFile)(process.execPath, [script], { cwd: dir, env: { ...process.env, API_USER: 'alice', API_PASSWORD: PASSWORD }, timeout: 20_000 });
    const first = await run();
    expect(first.stdout.trim()).toBe(`200 { reports: [], userId: 'u-alice', since: '2026-01-01' }`);
    expect(logins).toEqual([200]);
    expect(statSync(join(dir, '.refresh-token')).mode & 0o777).toBe(0o600);
    const stored = readFileSync(join(dir, '.refresh-token'), 'utf8');

    const second = await run();
    expect(second.stdout.trim()).toBe(first.stdout.trim());
    expect(logins).toEqual([200]); // restored with the stored refresh token, which rotated
    expect(readFileSync(join(dir, '.refresh-token'), 'utf8')).not.toBe(stored);
  } finally {
    rmSync(script, { force: true });
  }
}, 30_000);
