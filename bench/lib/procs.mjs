/*
 * Child processes of the benchmark: every server variant, the load generator and the helpers run
 * in their own process, pinned to a core with `taskset -c` when it exists. Every child this run
 * starts is tracked here and killed by `stopAll()` (on success, on failure and on SIGINT/SIGTERM).
 * Node children talk to the orchestrator over an IPC channel and exit when it closes, so they
 * cannot outlive it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const children = new Set();

/** The CPUs this process may run on (from `taskset -pc`), or [] when `taskset` is missing. */
export function allowedCpus() {
  const probe = spawnSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return [];
  const list = probe.stdout.split(':').pop().trim();
  const cpus = [];
  for (const part of list.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/**
 * Where each role runs. With two or more CPUs: the server under test alone on the last CPU; the
 * load generator, redis-server and the helpers on the first. Without `taskset`: unpinned.
 */
export function placement() {
  const cpus = allowedCpus();
  if (cpus.length < 2) return { pinned: false, server: undefined, loader: undefined, redis: undefined, cpus: availableParallelism() };
  const server = cpus[cpus.length - 1];
  const loader = cpus[0];
  return { pinned: true, server, loader, redis: loader, cpus: cpus.length };
}

/** Spawns `command args`, pinned to `cpu` when given; the child is tracked until it exits. */
export function spawnPinned(cpu, command, args, options = {}) {
  const [file, argv] = cpu === undefined ? [command, args] : ['taskset', ['-c', String(cpu), command, ...args]];
  const child = spawn(file, argv, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Starts a Node script with an IPC channel and waits for its `{ type: 'ready', ... }` message.
 * Returns `{ child, ready, request(message) }`; `request` sends a message with an id and resolves
 * with the reply that carries the same id.
 */
export async function startNode(cpu, script, { env = {}, args = [], nodeArgs = [], timeoutMs = 30_000 } = {}) {
  const child = spawnPinned(cpu, process.execPath, [...nodeArgs, script, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  let nextId = 1;
  const pending = new Map();
  let exitError;
  child.on('message', (message) => {
    const waiter = message && pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`${script}: ${message.error}`));
    else waiter.resolve(message);
  });
  child.once('exit', (code, signal) => {
    exitError = new Error(`${script} exited (${signal ?? code})`);
    for (const waiter of pending.values()) waiter.reject(exitError);
    pending.clear();
  });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} ${args.join(' ')} exited before it was ready (${signal ?? code})`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    const onMessage = (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(message);
      } else if (message?.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`${script} ${args.join(' ')}: ${message.error}`));
      }
    };
    child.on('message', onMessage);
  }).catch(async (error) => {
    await stop(child);
    throw error;
  });
  return {
    child,
    ready,
    request(message, timeout = 120_000) {
      if (exitError) return Promise.reject(exitError);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${script}: no answer to ${message.type} within ${timeout} ms`));
        }, timeout);
        pending.set(id, {
          resolve: (value) => (clearTimeout(timer), resolve(value)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
        child.send({ ...message, id });
      });
    },
    stop: () => stop(child),
  };
}

/** Kills one child (SIGTERM, then SIGKILL after 2 s) and waits for it to exit. */
export function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Kills one child at once with SIGKILL (a crash, not a shutdown) and waits for it to exit. */
export function kill(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Kills every child this run started that is still running. */
export async function stopAll() {
  await Promise.all([...children].map(stop));
}

/** Synchronous last resort (process 'exit'): SIGKILL whatever is left. */
export function killAllNow() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * For an orchestrator (run.mjs, reliability.mjs): `cleanup()` stops every child, then runs the
 * functions pushed on `cleanups` (last first: temp dirs ...). SIGINT and SIGTERM run it and exit
 * 130; on any exit whatever child is left is killed. `interrupted()` tells whether a signal came.
 */
export function shutdownHandler(log) {
  const cleanups = [];
  let interrupted = false;
  async function cleanup() {
    await stopAll();
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        log('cleanup:', error.message);
      }
    }
  }
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      interrupted = true;
      log(`${signal}: stopping every process this run started`);
      cleanup().finally(() => process.exit(130));
    });
  }
  process.once('exit', killAllNow);
  return { cleanups, cleanup, interrupted: () => interrupted };
}

/** Run by every Node child: exit when the orchestrator goes away, answer requests by type. */
export function serveIpc(handlers) {
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('message', async (message) => {
    const handler = handlers[message?.type];
    if (!handler) return process.send({ id: message?.id, error: `unknown message ${message?.type}` });
    try {
      const reply = await handler(message);
      process.send({ ...reply, id: message.id });
    } catch (error) {
      process.send({ id: message.id, error: error?.stack ?? String(error) });
    }
  });
}
