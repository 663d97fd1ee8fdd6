import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';

/**
 * The browser tests drive Debian's Chromium. On a fresh machine of this project (where we are
 * root and Debian's packages are reachable) it is installed here, so that `npm test` passes as
 * the README promises; anywhere else the run stops with one line saying how to install it.
 */
export default function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (!canInstall) throw new Error(`${CHROMIUM} not found: install it with 'apt-get install -y chromium' (Debian) and run the tests again`);
  console.log(`\n${CHROMIUM} not found: installing Debian's chromium for the browser tests (once)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: ['ignore', 'ignore', 'inherit'], env });
}
