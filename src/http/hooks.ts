import type { AuthHooks } from '../types.js';
import { reportError } from './respond.js';

export type HookRunner = <K extends keyof AuthHooks>(name: K, event: Parameters<NonNullable<AuthHooks[K]>>[0]) => Promise<void>;

/**
 * Runs the app's hooks. They are observers (README "Design decisions"): one
 * that throws changes no response, and its error goes to `process.emitWarning`.
 */
export function hookRunner(hooks: AuthHooks): HookRunner {
  return async (name, event) => {
    const hook = hooks[name] as ((event: unknown) => unknown) | undefined;
    if (!hook) return;
    try {
      await hook(event);
    } catch (error) {
      reportError(error, `hooks.${name}`);
    }
  };
}
