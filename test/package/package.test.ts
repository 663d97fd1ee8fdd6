import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Packs the built library (`npm test` builds first), unpacks the tarball into a scratch consumer
 * inside the repository (so express, bcrypt and jsonwebtoken resolve from our node_modules, with
 * no network), and runs one login + refresh + protected call through require() and import.
 */
const root = join(__dirname, '..', '..');
const consumer = join(__dirname, '.consumer');

beforeAll(() => {
  rmSync(consumer, { recursive: true, force: true });
  const packDir = mkdtempSync(join(tmpdir(), 'ert-pack-'));
  try {
    // `npm test` built dist/ already; prepack would rebuild it under the feet of parallel tests.
    execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', packDir], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(packDir).find((name) => name.endsWith('.tgz'))!;
    execFileSync('tar', ['-xzf', join(packDir, tarball), '-C', packDir]);
    mkdirSync(join(consumer, 'node_modules'), { recursive: true });
    cpSync(join(packDir, 'package'), join(consumer, 'node_modules', 'express-refresh-tokens'), { recursive: true });
    cpSync(join(__dirname, 'consumer'), consumer, { recursive: true });
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}, 60_000);

afterAll(() => rmSync(consumer, { recursive: true, force: true }));

it('ships only dist/, package.json, README, CHANGELOG and LICENSE', () => {
  const files = readdirSync(join(consumer, 'node_modules', 'express-refresh-tokens')).sort();
  expect(files.filter((name) => !['dist', 'package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(name))).toEqual([]);
  expect(files).toContain('dist');
});

it.each(['consumer.cjs', 'consumer.mjs'])('works through %s', (file) => {
  const output = execFileSync('node', [join(consumer, file)], { cwd: consumer, encoding: 'utf8', timeout: 30_000 });
  expect(JSON.parse(output)).toEqual({
    userId: 'u1',
    testing: 'function',
    errorCode: 'invalid_grant',
    isAuthError: true,
    postgresStore: { store: 'function', schema: true, notInRoot: true, pgLoaded: false },
  });
});

/** The README's quick start, as a file of the consumer. */
function writeQuickStart(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'));
  writeFileSync(join(consumer, 'quick-start.cjs'), /```js\n([\s\S]*?)```/.exec(quickStart)![1]!);
  return 'quick-start.cjs';
}

/** The environment without JWT_SECRET, plus `extra`. */
function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { JWT_SECRET: _unset, ...env } = process.env;
  return { ...env, ...extra };
}

it("refuses to start the README's quick start without JWT_SECRET, in one line that says what to do", () => {
  const run = spawnSync('node', [writeQuickStart()], { cwd: consumer, env: environment({ PORT: '0' }), encoding: 'utf8', timeout: 20_000 });
  expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 1, stdout: '' });
  expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Set JWT_SECRET to .*random/)]);
});

it("runs the README's quick start as written", async () => {
  const script = writeQuickStart();
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as { port: number }).port;
  probe.close();

  const secret = randomBytes(32).toString('base64');
  const app = spawn('node', [script], { cwd: consumer, env: environment({ PORT: String(port), JWT_SECRET: secret }) });
  try {
    const [line] = await once(app.stdout!, 'data');
    expect(String(line)).toContain(`listening on http://localhost:${port}`);
    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ada', password: 'correct horse battery' }),
    });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const auth = { authorization: `Bearer ${accessToken}` };
    expect(((await (await fetch(`${base}/me`, { headers: auth })).json()) as { userId: string }).userId).toBe('u1');
    expect((await fetch(`${base}/admin`, { headers: auth })).status).toBe(200);
    const rotated = await fetch(`${base}/auth/refresh`, { method: 'POST', headers: { cookie } });
    expect(rotated.status).toBe(200);
    // Presented again within the default grace window: the same successor, as a tab that lost the answer needs.
    const retried = await fetch(`${base}/auth/refresh`, { method: 'POST', headers: { cookie } });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('set-cookie')!.split(';')[0]).toBe(rotated.headers.get('set-cookie')!.split(';')[0]);
  } finally {
    app.kill();
  }
}, 30_000);

describe('types, for a strict TypeScript app without the optional peers', () => {
  // A folder outside the repository, so that nothing resolves ioredis or pg from our own
  // node_modules: the packed package is copied in, every other dependency is linked.
  const app = mkdtempSync(join(tmpdir(), 'ert-types-'));
  const optionalPeers = ['ioredis', '@ioredis', 'pg', '@types/pg'];

  beforeAll(() => {
    const modules = join(app, 'node_modules');
    mkdirSync(join(modules, '@types'), { recursive: true });
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (name === '@types' || optionalPeers.includes(name) || name.startsWith('.')) continue;
      symlinkSync(join(root, 'node_modules', name), join(modules, name));
    }
    for (const name of readdirSync(join(root, 'node_modules', '@types'))) {
      if (!optionalPeers.includes(`@types/${name}`)) symlinkSync(join(root, 'node_modules', '@types', name), join(modules, '@types', name));
    }
    rmSync(join(modules, 'express-refresh-tokens'), { recursive: true, force: true });
    cpSync(join(consumer, 'node_modules', 'express-refresh-tokens'), join(modules, 'express-refresh-tokens'), { recursive: true });
    cpSync(join(__dirname, 'consumer', 'typed.ts'), join(app, 'typed.ts'));
    cpSync(join(__dirname, 'consumer', 'typed.mts'), join(app, 'typed.mts'));
  });

  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it.each(['typed.ts', 'typed.mts'])(
    '%s compiles with --strict and skipLibCheck off',
    (file) => {
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const args = [
        tsc,
        '--strict',
        '--noEmit',
        '--skipLibCheck',
        'false',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--target',
        'es2022',
        '--types',
        'node',
        '--esModuleInterop',
        file,
      ];
      let output = '';
      try {
        execFileSync('node', args, { cwd: app, encoding: 'utf8', timeout: 60_000 });
      } catch (error) {
        output = String((error as { stdout?: string }).stdout);
      }
      expect(output).toBe('');
    },
    90_000,
  );
});
