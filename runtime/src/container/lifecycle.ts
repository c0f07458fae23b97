// start, state, kill, delete, list, pause, resume, pids: everything after create
// that only reads state.json, the init's /proc entry and the cgroup. None of it
// loads koffi or starts a process, so the shim can call it in-process.
import { closeSync, constants, existsSync, openSync, readSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { precondition, RuntimeError } from '../errors.js';
import { runHooksWarn } from '../linux/hooks.js';
import { signalName } from '../linux/signals.js';
import { type CgroupManager, createCgroupManager } from './cgroup.js';
import {
  computeStatus,
  containerDir,
  fifoPath,
  initAlive,
  listIds,
  loadState,
  type OciState,
  type SavedState,
  type Status,
  toOciState,
} from './state.js';

// SIGSTOP, SIGCONT, SIGCHLD, SIGURG, SIGWINCH: not fatal by default.
const NON_FATAL = new Set([19, 18, 17, 23, 28]);

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export interface Container {
  root: string;
  saved: SavedState;
  cgroup: CgroupManager;
  status: Status;
}

export function load(root: string, id: string): Container {
  const saved = loadState(root, id);
  const cgroup = createCgroupManager({ cgroupsPath: saved.cgroupsPath, id });
  const status = computeStatus(root, saved, () => cgroup.state() === 'frozen');
  return { root, saved, cgroup, status };
}

export function state(root: string, id: string): OciState {
  const c = load(root, id);
  return toOciState(c.saved, c.status);
}

/** Every container under root; entries that cannot be read (deleted meanwhile, another runtime's) are skipped, as runc does. */
export function list(root: string, onSkip?: (id: string, err: unknown) => void): OciState[] {
  const out: OciState[] = [];
  for (const id of listIds(root)) {
    try {
      out.push(state(root, id));
    } catch (err) {
      onSkip?.(id, err);
    }
  }
  return out;
}

/** Releases a created container's init: reads its byte from exec.fifo, then removes the fifo. */
export function start(root: string, id: string): void {
  const c = load(root, id);
  if (c.status === 'stopped') throw precondition('cannot start a container that has stopped');
  if (c.status !== 'created') throw precondition('cannot start an already running container');
  const fifo = fifoPath(containerDir(root, id));
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK | 0o2000000);
  try {
    const buf = Buffer.alloc(1);
    const deadline = Date.now() + 30_000;
    for (;;) {
      let n = 0;
      try {
        n = readSync(fd, buf, 0, 1, null);
      } catch (err: any) {
        if (err?.code !== 'EAGAIN') throw err;
      }
      if (n > 0) break;
      if (!initAlive(c.saved)) throw precondition('cannot start a container that has stopped');
      if (Date.now() > deadline) throw new RuntimeError('Internal', 'the container init did not answer on exec.fifo');
      sleep(2);
    }
  } finally {
    closeSync(fd);
  }
  unlinkSync(fifo);
  if (c.saved.hooks?.poststart?.length) runHooksWarn('poststart', c.saved.hooks, toOciState(c.saved, 'running'));
}

export function kill(root: string, id: string, signal: number, all = false): void {
  const c = load(root, id);
  if (c.status === 'stopped' && !all) throw precondition('container not running');
  const name = signalName(signal);
  if (all) {
    // Stopped processes must be running to take a signal other than SIGKILL.
    const paused = c.status === 'paused';
    for (const pid of c.cgroup.pids()) {
      try {
        process.kill(pid, name);
      } catch {}
    }
    if (paused && signal !== 9) c.cgroup.thaw();
    return;
  }
  // A created container's init is Node blocked in open(2) with no handlers, and an
  // init ignores unhandled signals; runc's Go init dies of them. Match that.
  const deliver = c.status === 'created' && !NON_FATAL.has(signal) ? 'SIGKILL' : name;
  try {
    process.kill(c.saved.pid, deliver);
  } catch (err: any) {
    if (err?.code === 'ESRCH') throw precondition('container not running');
    throw err;
  }
}

function killAndWait(c: Container): void {
  const pids = [c.saved.pid, ...c.cgroup.pids()];
  if (c.status === 'paused') {
    for (const pid of pids) try { process.kill(pid, 'SIGKILL'); } catch {}
    c.cgroup.thaw();
  }
  for (let i = 0; i < 500; i++) {
    for (const pid of c.cgroup.pids()) try { process.kill(pid, 'SIGKILL'); } catch {}
    if (initAlive(c.saved)) try { process.kill(c.saved.pid, 'SIGKILL'); } catch {}
    if (!initAlive(c.saved) && c.cgroup.pids().length === 0) return;
    sleep(10);
  }
}

/** Removes a stopped container; a created one has its init killed; `force` also kills a running one. */
export function destroy(root: string, id: string, force = false): void {
  let c: Container;
  try {
    c = load(root, id);
  } catch (err: any) {
    if (force && err?.kind === 'NotFound') return;
    throw err;
  }
  if ((c.status === 'running' || c.status === 'paused') && !force) {
    throw precondition(`cannot delete container ${id} that is not stopped: ${c.status}`);
  }
  if (c.status !== 'stopped' || c.cgroup.pids().length) killAndWait(c);
  c.cgroup.destroy();
  removeEmptyBerthParents(c.cgroup.paths);
  rmSync(containerDir(root, id), { recursive: true, force: true });
  if (c.saved.hooks?.poststop?.length) runHooksWarn('poststop', c.saved.hooks, toOciState(c.saved, 'stopped'));
}

/**
 * Removes the now empty directories berth made above a container's cgroup (`/berth`,
 * `/berth/<namespace>`): only those at or below a `berth` directory, and only while
 * empty (rmdir fails on a cgroup with children). A create racing with this retries
 * its mkdir (see create's applyCgroup).
 */
export function removeEmptyBerthParents(paths: Record<string, string>): void {
  for (const leaf of new Set(Object.values(paths))) {
    const at = leaf.indexOf('/berth/');
    if (at < 0) continue;
    const top = leaf.slice(0, at + '/berth'.length);
    for (let dir = dirname(leaf); dir.length >= top.length; dir = dirname(dir)) {
      try {
        rmdirSync(dir);
      } catch {
        break;
      }
    }
  }
}

export function pause(root: string, id: string): void {
  const c = load(root, id);
  if (c.status !== 'running' && c.status !== 'created') throw precondition('container not running');
  c.cgroup.freeze();
}

export function resume(root: string, id: string): void {
  const c = load(root, id);
  if (c.status !== 'paused') throw precondition('container not paused');
  c.cgroup.thaw();
}

export function pids(root: string, id: string): number[] {
  const c = load(root, id);
  return c.cgroup.pids();
}

export function exists(root: string, id: string): boolean {
  return existsSync(join(containerDir(root, id), 'state.json'));
}

