/* What a benchmark report says about the machine and the versions it ran with. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './library.mjs';
import { postgresVersion } from './postgres.mjs';
import { redisVersion } from './redis.mjs';

function packageVersion(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8')).version;
  } catch {
    return undefined;
  }
}

function command(file, args = []) {
  try {
    return execFileSync(file, args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function machineFacts() {
  const benchModules = join(repoRoot, 'bench', 'node_modules');
  return {
    nproc: Number(command('nproc')) || availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    express: packageVersion(join(benchModules, 'express', 'package.json')),
    libraryExpress: packageVersion(join(repoRoot, 'node_modules', 'express', 'package.json')),
    redis: redisVersion(),
    ioredis: packageVersion(join(benchModules, 'ioredis', 'package.json')),
    postgres: postgresVersion(),
    pg: packageVersion(join(benchModules, 'pg', 'package.json')),
    autocannon: packageVersion(join(benchModules, 'autocannon', 'package.json')),
    library: packageVersion(join(repoRoot, 'package.json')),
    commit: command('git', ['rev-parse', '--short', 'HEAD']),
  };
}
