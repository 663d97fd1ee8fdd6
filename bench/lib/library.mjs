/*
 * The library under test: the built package in ../dist (root `npm run build`), or another build
 * named by BENCH_LIB (a dist directory), which is how a "before" build is measured beside the
 * current one. Only the package's public entry points are loaded (the root and `/postgres`), as
 * an app would: never a module inside the build.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');

export function distDir(override = process.env.BENCH_LIB) {
  return override ? resolve(override) : join(repoRoot, 'dist');
}

/** Imports the ESM build's root export. */
export async function loadLibrary(dir = distDir()) {
  const entry = join(dir, 'esm', 'index.js');
  if (!existsSync(entry)) throw new Error(`${entry} not found: run 'npm run build' at the repository root first`);
  return import(pathToFileURL(entry).href);
}

/** `RedisTokenStore` from the package root (`source` says where), or undefined in a build without it. */
export async function loadRedisStore(dir = distDir()) {
  const lib = await loadLibrary(dir);
  return typeof lib.RedisTokenStore === 'function' ? { RedisTokenStore: lib.RedisTokenStore, source: 'package root' } : undefined;
}

/** `express-refresh-tokens/postgres` of the build (`PostgresTokenStore` ...), or undefined in a build without it. */
export async function loadPostgresStore(dir = distDir()) {
  const entry = join(dir, 'esm', 'postgres', 'index.js');
  return existsSync(entry) ? import(pathToFileURL(entry).href) : undefined;
}

/**
 * The rotate script's Lua source, for a reference script of the same size; undefined in a build
 * without the Redis store. Read through the public `RedisTokenStore`: a stand-in client records the
 * scripts the store defines on it (command `ert_rotate_<sha>`), and nothing connects anywhere.
 */
export async function rotateScriptSource(dir = distDir()) {
  const redis = await loadRedisStore(dir);
  if (!redis) return undefined;
  let source;
  const client = {
    defineCommand(name, { lua }) {
      if (name.startsWith('ert_rotate_')) source = lua;
    },
  };
  new redis.RedisTokenStore({ client });
  return source;
}
