/** Shape checks for values that came from JSON or from app code: the one home of each. */

/** Any object but an array: a parsed JSON object, or an options group (class instances pass). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object literal or `JSON.parse` result: not an array, not a class instance, not null. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isObject(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** A field the object itself has: never one inherited through a `__proto__` key. */
export function ownField(object: Record<string, unknown> | undefined, name: string): unknown {
  return object && Object.hasOwn(object, name) ? object[name] : undefined;
}
