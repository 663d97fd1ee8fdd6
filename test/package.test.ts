import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Packs the built library (`npm test` builds first), unpacks the tarball into a scratch consumer
 * inside the repository (so express, bcrypt and jsonwebtoken resolve from our node_modules, with
 * no network), and runs one login + refresh + protected call through require() and import.
 */
const root = join(__dirname, '..');
const consumer = join(__dirname, '.consumer');

beforeAll(() => {
  rmSync(consumer, { recursive: true, force: true });
  const packDir = mkdtempSync(join(tmpdir(), 'ert-pack-'));
  try {
    execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
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
  expect(JSON.parse(output)).toEqual({ userId: 'u1', testing: 'function', errorCode: 'invalid_grant', isAuthError: true });
});
