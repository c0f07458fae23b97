// The hidden stages the parent spawns: `__init` (a container's init, pid 1 of its
// pid namespace) and `__exec` (a process joining a running container). Each reads
// its plan from the sync fd, sets the container up on its main thread with
// synchronous calls only, reports ready, and finally execve's the user process.
import { closeSync, constants as fsConstants, openSync, writeSync } from 'node:fs';
import type { LinuxSeccomp, Process, Spec } from 'oci-spec-types';
import { errorMessage } from '../errors.js';
import { runHooks } from '../linux/hooks.js';
import { applyExecLabels } from '../linux/lsm.js';
import { enterNamespaces, joinNamespace } from '../linux/namespaces.js';
import { finalizeAndExec, lookPath, type ProcessPlan, setRlimits, withHome } from '../linux/process.js';
import { finalizeRootfs, pivotRoot, prepareRootfs } from '../linux/rootfs.js';
import { prepareSeccomp } from '../linux/seccomp.js';
import { setupConsole } from '../linux/terminal.js';
import { CLONE, O, PR, type Sys } from '../sys/index.js';
import { createKoffiSys } from '../sys/koffi.js';
import { readMessageSync, writeMessageSync } from './sync.js';

export interface InitPlan {
  kind: 'init';
  spec: Spec;
  rootfs: string;
  fifo: string;
  /** The exec.fifo opened O_PATH by the parent (an init in a user namespace may not reach the state dir). */
  fifoFd?: number;
  /** The console socket connected by the parent, for the same reason. */
  consoleFd?: number;
  noPivot: boolean;
  consoleSocket?: string;
  preserveFds: number;
  cgroupPaths: Record<string, string>;
  /** The container state the hooks and a seccomp listener get (status creating, the init's host pid). */
  ociState: { pid: number } & Record<string, unknown>;
  /** Whether the parent runs prestart/createRuntime hooks: the init then stops before pivot_root for them. */
  parentHooks: boolean;
}

export interface ExecStagePlan {
  kind: 'exec';
  process: Process;
  /** The container init's mount namespace file, joined by the stage itself. */
  mntNs?: string;
  consoleSocket?: string;
  preserveFds: number;
  seccomp?: LinuxSeccomp;
  /** The exec process's host pid and the container state, for a seccomp listener. */
  hostPid?: number;
  /** The container's cgroup.procs files, joined by the stage itself as late as it can. */
  cgroupProcs?: { path: string; optional: boolean }[];
  /** The same files already open (fd numbers in the stage), when the stage could not open them itself. */
  cgroupFds?: { fd: number; path: string; optional: boolean }[];
  /** The console socket connected by the parent (a stage in a user namespace may not reach it). */
  consoleFd?: number;
  ociState?: unknown;
}

export function processPlan(p: Process, preserveFds: number): ProcessPlan {
  return {
    args: p.args ?? [],
    env: withHome(p.env ?? [], p.user?.uid ?? 0),
    cwd: p.cwd || '/',
    uid: p.user?.uid ?? 0,
    gid: p.user?.gid ?? 0,
    additionalGids: p.user?.additionalGids ?? [],
    umask: p.user?.umask,
    rlimits: p.rlimits ?? [],
    noNewPrivileges: !!p.noNewPrivileges,
    capabilities: p.capabilities,
    preserveFds,
  };
}

function writeProc(path: string, value: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

export function runInit(sys: Sys, plan: InitPlan, syncFd: number): never {
  const { spec } = plan;
  const proc = spec.process!;
  sys.prctl(PR.SET_DUMPABLE, 0);
  // Opened before pivot_root, while the host paths are still reachable.
  // Fds the parent passed (fifo, console) stay out of the hooks this process runs.
  if (plan.fifoFd !== undefined) sys.closeRangeCloexec(plan.fifoFd);
  const fifoFd = plan.fifoFd ?? sys.open(plan.fifo, O.PATH | O.CLOEXEC);
  const consoleFd = plan.consoleFd ?? (proc.terminal && plan.consoleSocket ? sys.connectUnix(plan.consoleSocket) : -1);
  const seccomp = prepareSeccomp(sys, spec.linux?.seccomp, plan.ociState.pid, plan.ociState);
  const namespaces = spec.linux?.namespaces ?? [];
  enterNamespaces(sys, namespaces, ['pid', 'user']);
  // A joined mount namespace gets the rootfs set up inside it too (as runc does);
  // without one, the process is only chrooted into the rootfs (no mounts at all).
  const newMountNs = namespaces.some((n) => n.type === 'mount');
  if (newMountNs) {
    prepareRootfs({
      sys,
      spec,
      rootfs: plan.rootfs,
      cgroupPaths: plan.cgroupPaths,
      cgroupNs: namespaces.some((n) => n.type === 'cgroup'),
    });
  }
  // runtime.md: prestart/createRuntime (by the runtime) then createContainer (here,
  // in the container's namespaces) run after the mounts and before pivot_root.
  if (plan.parentHooks) {
    writeMessageSync(syncFd, { type: 'hooks' });
    const reply = readMessageSync(syncFd);
    if (reply?.type !== 'hooksDone') throw new Error('the runtime did not finish its hooks');
  }
  runHooks('createContainer', spec.hooks, plan.ociState);
  if (newMountNs) pivotRoot(sys, plan.rootfs, plan.noPivot);
  if (consoleFd >= 0) setupConsole(sys, consoleFd, proc.consoleSize, newMountNs);
  if (spec.hostname) sys.sethostname(spec.hostname);
  if (spec.domainname) sys.setdomainname(spec.domainname);
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    writeProc(`/proc/sys/${key.replace(/\./g, '/')}`, value);
  }
  if (proc.oomScoreAdj !== undefined) writeProc('/proc/self/oom_score_adj', String(proc.oomScoreAdj));
  if (newMountNs) finalizeRootfs(sys, spec);
  const pplan = processPlan(proc, plan.preserveFds);
  // Without a mount namespace nothing is mounted: the process is only chrooted
  // into the rootfs, after the exec.fifo wait (which needs the host's /proc).
  const chrootLater = !newMountNs;
  const exe = lookPath(pplan.args[0], pplan.env, chrootLater ? plan.rootfs : '');
  setRlimits(sys, pplan.rlimits);
  writeMessageSync(syncFd, { type: 'ready' });
  // Block until `start` opens the fifo for reading (runc's exec.fifo contract).
  const w = sys.open(`/proc/self/fd/${fifoFd}`, O.WRONLY | O.CLOEXEC);
  writeSync(w, '0');
  sys.close(w);
  sys.close(fifoFd);
  if (chrootLater) {
    sys.chdir(plan.rootfs);
    sys.chroot('.');
    sys.chdir('/');
  }
  runHooks('startContainer', spec.hooks, { ...plan.ociState, status: 'created' });
  applyExecLabels(proc.apparmorProfile, proc.selinuxLabel);
  return finalizeAndExec(sys, { ...pplan, seccomp }, exe);
}

function openCgroupProcs(files: { path: string; optional: boolean }[]): { fd: number; path: string; optional: boolean }[] {
  const out: { fd: number; path: string; optional: boolean }[] = [];
  for (const f of files) {
    try {
      out.push({ ...f, fd: openSync(f.path, fsConstants.O_WRONLY) /* libuv adds O_CLOEXEC */ });
    } catch (err: any) {
      if (!f.optional) throw new Error(`cannot join the container's cgroup ${f.path}: ${err?.message ?? err}`);
    }
  }
  return out;
}

/** Writes 0 (the writer itself, with all its threads) to each cgroup.procs, then closes it. */
function joinCgroups(fds: { fd: number; path: string; optional: boolean }[]): void {
  for (const f of fds) {
    try {
      writeSync(f.fd, '0');
    } catch (err: any) {
      if (!f.optional) throw new Error(`cannot join the container's cgroup ${f.path}: ${err?.message ?? err}`);
    } finally {
      closeSync(f.fd);
    }
  }
}

export function runExec(sys: Sys, plan: ExecStagePlan, syncFd: number): never {
  const proc = plan.process;
  sys.prctl(PR.SET_DUMPABLE, 0);
  const consoleFd = plan.consoleFd ?? (proc.terminal && plan.consoleSocket ? sys.connectUnix(plan.consoleSocket) : -1);
  const seccomp = prepareSeccomp(sys, plan.seccomp, plan.hostPid ?? process.pid, plan.ociState);
  // Opened now, on the host's mount namespace; written to only at the end.
  const cgroups = plan.cgroupFds ?? openCgroupProcs(plan.cgroupProcs ?? []);
  sys.unshare(CLONE.FS);
  if (plan.mntNs) joinNamespace(sys, plan.mntNs, 'mount');
  if (consoleFd >= 0) setupConsole(sys, consoleFd, proc.consoleSize, false);
  if (proc.oomScoreAdj !== undefined) writeProc('/proc/self/oom_score_adj', String(proc.oomScoreAdj));
  const pplan = processPlan(proc, plan.preserveFds);
  const exe = lookPath(pplan.args[0], pplan.env);
  setRlimits(sys, pplan.rlimits);
  // Into the container's cgroups now: everything from here on is synchronous and this
  // process has every thread it will ever have (under a pids limit it could create no
  // more; migrating is not limited, only forks are). Still privileged, and before
  // `ready`, so the process is in the cgroup by the time `exec` returns.
  joinCgroups(cgroups);
  writeMessageSync(syncFd, { type: 'ready', pid: process.pid });
  applyExecLabels(proc.apparmorProfile, proc.selinuxLabel);
  return finalizeAndExec(sys, { ...pplan, seccomp }, exe);
}

export function runStage(name: string, args: string[]): number {
  const syncFd = Number(args[0]);
  let ready = false;
  try {
    // The parent moved this process into the container's cgroup right after spawning
    // it; it sets the limits (a pids limit) only once Node has started its threads.
    if (name === '__init') writeMessageSync(syncFd, { type: 'booted' });
    const plan = readMessageSync(syncFd) as InitPlan | ExecStagePlan;
    const sys = createKoffiSys();
    // The parent learns of success from `ready`; errors after it go to stderr.
    ready = true;
    if (name === '__init' && plan.kind === 'init') runInit(sys, plan, syncFd);
    else if (name === '__exec' && plan.kind === 'exec') runExec(sys, plan, syncFd);
    throw new Error(`stage ${name} got a ${plan.kind} plan`);
  } catch (err) {
    try {
      writeMessageSync(syncFd, { type: 'error', message: errorMessage(err) });
    } catch {
      if (ready) process.stderr.write(`berth-runtime: ${errorMessage(err)}\n`);
    }
    process.exit(1);
  }
}
