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
  /** Called on each request the router handles: stops trusting a learned path that did not lead here. */
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
  let trusted = true;

  const mountPath = (): string | undefined => {
    const { mountpath, parent } = mounted;
    const parentPath = typeof parent?.path === 'function' ? parent.path() : '';
    if (!trusted || typeof mountpath !== 'string' || typeof parentPath !== 'string') return undefined;
    const path = normalise(`${parentPath}/${mountpath}`);
    return LITERAL_PATH.test(path) ? path : undefined;
  };

  mountPath.confirm = (req: Request): void => {
    const learned = mountPath();
    const here = normalise(req.baseUrl);
    if (learned === undefined || learned.toLowerCase() === here.toLowerCase()) return;
    // An app mounted inside a Router does not know its own path: fall back rather than set a
    // cookie that never comes back.
    trusted = false;
    process.emitWarning(
      `express-refresh-tokens: the router was mounted at ${here}, not at ${learned} as its app said; the refresh cookie's path is now /. Set refreshToken.cookie.path.`,
      { code: 'ERT_COOKIE_PATH' },
    );
  };
  return mountPath;
}

/** One slash between segments, none at the end: `//v1/auth/` is `/v1/auth`, and `` is `/`. */
function normalise(path: string): string {
  return `/${path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
}
