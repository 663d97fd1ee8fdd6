/*
 * The library under test: the built package in ../dist (root `npm run build`), or another build
 * named by BENCH_LIB (a dist directory), which is how a "before" build is measured beside the
 * current one.
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

/** The rotate script's Lua source (an internal module), for a reference script of the same size; undefined if not built. */
export async function rotateScriptSource(dir = distDir()) {
  const file = join(dir, 'esm', 'store', 'redis-scripts.js');
  if (!existsSync(file)) return undefined;
  const module = await import(pathToFileURL(file).href);
  return typeof module.ROTATE_SCRIPT === 'string' ? module.ROTATE_SCRIPT : undefined;
}
