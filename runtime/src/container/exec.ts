// `exec`: the parent joins, on its main thread, the container's pid, uts, ipc,
// network and cgroup namespaces (not mount: the node binary must still resolve on
// the host), then spawns the exec stage, which joins the mount namespace itself,
// sets up the process, joins the container's cgroups once it has every thread it
// will ever have (a pids limit would stop Node creating more), and execve's. In a
// user-namespaced container the stage starts through berth-nsexec, which joins the
// user namespace first (see linux/userns.ts).
import { closeSync, constants as fsConstants, openSync, readFileSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LinuxSeccomp, Process } from 'oci-spec-types';
import { invalid, precondition } from '../errors.js';
import { joinNamespace } from '../linux/namespaces.js';
import { spawnFromReadOnlyExe } from '../linux/sealed-exe.js';
import { checkCapabilities } from '../linux/capabilities.js';
import { checkLabels } from '../linux/lsm.js';
import { checkRlimits } from '../linux/process.js';
import { CLONE, O } from '../sys/index.js';
import { createKoffiSys } from '../sys/koffi.js';
import { type Exit, spawnStage, stageCommand } from './create.js';
import { load } from './lifecycle.js';
import type { ExecStagePlan } from './stage.js';
import { toOciState, writeAtomic } from './state.js';

/** The container's linux.seccomp from its bundle's config.json (read raw: create validated it). */
function seccompOf(bundle: string): LinuxSeccomp | undefined {
  try {
    return JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'))?.linux?.seccomp ?? undefined;
  } catch {
    return undefined;
  }
}

export interface ExecOptions {
  root: string;
  id: string;
  process: Process;
  consoleSocket?: string;
  pidFile?: string;
  preserveFds?: number;
  stageCommand?: [string, ...string[]];
}

export interface Executed {
  pid: number;
  exited: Promise<Exit>;
  unref(): void;
}

/**
 * The cgroup.procs files the exec stage joins. Like apply(): v1's unified and
 * name=systemd hierarchies best effort, every controller (and v2's one dir) required.
 */
export function cgroupProcsOf(paths: Record<string, string>): { path: string; optional: boolean }[] {
  const keys = Object.keys(paths);
  return keys.map((k) => ({
    path: join(paths[k], 'cgroup.procs'),
    optional: k === 'name=systemd' || (k === '' && keys.length > 1),
  }));
}

const JOINED_BY_PARENT = ['pid', 'uts', 'ipc', 'network', 'cgroup'];

export async function exec(opts: ExecOptions): Promise<Executed> {
  const c = load(opts.root, opts.id);
  if (c.status === 'stopped') throw precondition('cannot exec in a stopped container');
  if (c.status === 'paused') throw precondition('cannot exec in a paused container');
  const proc = opts.process;
  if (!proc.args?.length) throw invalid('exec: args must not be empty');
  if (proc.cwd && !proc.cwd.startsWith('/')) throw invalid(`exec: cwd ${proc.cwd} is not an absolute path`);
  checkRlimits(proc.rlimits);
  checkCapabilities(proc.capabilities);
  checkLabels(proc);
  if (proc.terminal && !opts.consoleSocket) throw invalid('a terminal (-t) needs --console-socket: cannot allocate tty without a console socket');
  const sys = createKoffiSys();
  const ns = c.saved.namespaces;
  // As in create: back to our own pid namespace right after the spawn, or this
  // process can start no more threads.
  const ownPidNs = ns.pid ? sys.open('/proc/self/ns/pid', O.RDONLY | O.CLOEXEC) : -1;
  for (const type of JOINED_BY_PARENT) if (ns[type]) joinNamespace(sys, ns[type], type);
  const cmd = opts.stageCommand ?? stageCommand();
  // In a user namespace the stage is not root on the host and cannot open the
  // cgroup files: they are opened here and passed (a write through an fd is checked
  // against its opener's credentials).
  const cgroupProcs = cgroupProcsOf(c.cgroup.paths);
  const cgroupFds: { fd: number; path: string; optional: boolean }[] = [];
  let stage: ReturnType<typeof spawnStage>;
  let consoleFd = -1;
  try {
    if (ns.user) {
      for (const f of cgroupProcs) {
        try {
          cgroupFds.push({ ...f, fd: openSync(f.path, fsConstants.O_WRONLY) });
        } catch (err: any) {
          if (!f.optional) {
            for (const o of cgroupFds) closeSync(o.fd);
            throw new Error(`cannot join the container's cgroup ${f.path}: ${err?.message ?? err}`);
          }
        }
      }
    }
    if (ns.user && proc.terminal && opts.consoleSocket) consoleFd = sys.connectUnix(resolve(opts.consoleSocket));
    const base = 4 + (opts.preserveFds ?? 0);
    stage = spawnFromReadOnlyExe(sys, realpathSync(cmd[0]), () =>
      spawnStage('__exec', opts.preserveFds ?? 0, cmd, {
        fds: [...cgroupFds.map((f) => f.fd), ...(consoleFd >= 0 ? [consoleFd] : [])],
        userns: ns.user ? { ns: { mode: 'join', path: ns.user }, newPidNs: false, wait: false } : undefined,
      }),
    );
    cgroupFds.forEach((f, i) => {
      closeSync(f.fd);
      f.fd = base + i;
    });
  } finally {
    if (consoleFd >= 0) sys.close(consoleFd);
    if (ownPidNs >= 0) {
      sys.setns(ownPidNs, CLONE.NEWPID);
      sys.close(ownPidNs);
    }
  }
  const child = stage.child;
  try {
    if (!child.pid) throw new Error('cannot start the exec process');
    if (ns.user) {
      // berth-nsexec reports once it is root in the user namespace, then execs the stage.
      const msg: any = await stage.sync.next();
      if (msg.type === 'error') throw invalid(`user namespace: ${msg.message}`);
    }
    const plan: ExecStagePlan = {
      kind: 'exec',
      process: proc,
      mntNs: ns.mount,
      consoleSocket: opts.consoleSocket && resolve(opts.consoleSocket),
      preserveFds: opts.preserveFds ?? 0,
      // linux.seccomp applies to every process of the container, as with runc.
      seccomp: seccompOf(c.saved.bundle),
      hostPid: child.pid,
      cgroupProcs: ns.user ? undefined : cgroupProcs,
      cgroupFds: ns.user ? cgroupFds : undefined,
      consoleFd: consoleFd >= 0 ? 4 + (opts.preserveFds ?? 0) + cgroupFds.length : undefined,
      ociState: toOciState(c.saved, c.status),
    };
    stage.sync.write(`${JSON.stringify(plan)}\n`);
    const msg = await stage.sync.next();
    if (msg.type === 'error') throw invalid(msg.message);
    if (opts.pidFile) writeAtomic(resolve(opts.pidFile), String(child.pid), 0o644);
    stage.sync.close();
  } catch (err) {
    try {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    } catch {}
    throw err;
  }
  return { pid: child.pid!, exited: stage.exited, unref: () => child.unref() };
}
