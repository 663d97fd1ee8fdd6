/**
 * A `$2y$` hash as PHP's `password_hash` (Laravel's `Hash::make`) stores it, of `PHP_PASSWORD` at
 * cost 10: made by crypt_blowfish, the implementation PHP uses (here through glibc's `crypt`).
 */
export const PHP_HASH = '$2y$10$5MZBzQxrUubKUe0owBC6u.MmpAIiTEoQMhGhg0GJUQ9.jJBaEmorS';
export const PHP_PASSWORD = 'migrated from Laravel';

/** Whether node-bcrypt computes this hash at `cost` (it refuses every prefix but $2a$ and $2b$ at once). */
export function isComputedAt(cost: number, hash: unknown): boolean {
  return typeof hash === 'string' && /^\$2[ab]\$\d\d\$/.test(hash) && Number(hash.slice(4, 6)) === cost;
}
