import type { Request, Router } from 'express';

/** Mount paths with nothing but literal characters: parameters, wildcards and lists are not one path. */
const LITERAL_PATH = /^[\w\-.~%/]+$/;

interface Mounted {
  set?: () => unknown;
  emit?: () => boolean;
  mountpath?: unknown;
  parent?: { path?: () => unknown };
}

export interface MountPath {
  /** The path the app mounted the router at, as the app wrote it; `undefined` when unknown. */
  (): string | undefined;
  /** Called on each request the router handles: stops using a learned path that did not lead here. */
  confirm(req: Request): void;
}

/**
 * Learns where an app mounts `router`, as the app wrote it: the request's `baseUrl` is spelled the
 * way the request spelled it (`/AUTH` under Express's default case-insensitive routing), and a
 * session may be started from another route. Express's `app.use(path, x)`, in 4 and 5 alike,
 * records `x.mountpath` and `x.parent` (the app, whose `path()` is its own mount path) when `x`
 * has `handle` and `set` methods, and then calls `x.handle`, which a router has: so the router
 * gets a `set` and an `emit`, and is mounted exactly as before. Not learned (`undefined`): a
 * router mounted inside another `express.Router()`, at a path with parameters or wildcards, or at
 * several paths.
 */
export function learnMountPath(router: Router): MountPath {
  const mounted = router as Router & Mounted;
  mounted.set = () => router;
  mounted.emit = () => false;
  /** Where a request found the router, when that is not where its app said it was. */
  let foundAt: string | undefined;
  let warned = false;

  const learned = (): string | undefined => {
    const { mountpath, parent } = mounted;
    const parentPath = typeof parent?.path === 'function' ? parent.path() : '';
    if (typeof mountpath !== 'string' || typeof parentPath !== 'string') return undefined;
    const path = normalise(`${parentPath}/${mountpath}`);
    return LITERAL_PATH.test(path) ? path : undefined;
  };

  const mountPath = (() => {
    if (foundAt === undefined) return learned();
    // An app mounted inside a Router does not know its own path: fall back rather than set a
    // cookie that never comes back. Said only when a cookie would have used it.
    if (!warned) {
      warned = true;
      process.emitWarning(
        `express-refresh-tokens: the router is mounted at ${foundAt}, not where its app says (${learned()}); the refresh cookie's path is /. Set refreshToken.cookie.path.`,
        { code: 'ERT_COOKIE_PATH' },
      );
    }
    return undefined;
  }) as MountPath;

  mountPath.confirm = (req: Request): void => {
    if (foundAt !== undefined) return;
    const path = learned();
    const here = normalise(req.baseUrl);
    if (path !== undefined && path.toLowerCase() !== here.toLowerCase()) foundAt = here;
  };
  return mountPath;
}

/** One slash between segments, none at the end: `//v1/auth/` is `/v1/auth`, and `` is `/`. */
function normalise(path: string): string {
  return `/${path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
}
