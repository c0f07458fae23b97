// `create`: the parent side. It makes the state dir and the exec.fifo, enters (or
// makes) the pid namespace on its main thread so the init it spawns is pid 1 there
// (with a user namespace, berth-nsexec starts the init: see linux/userns.ts), and
// validates config.json while the init boots; then it makes the cgroup, moves the
// init into it, sets the limits, sends the plan, waits for `ready` and writes
// state.json. Any failure removes everything it made: the init, the cgroup,
// the state dir.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { alreadyExists, invalid, RuntimeError } from '../errors.js';
import { logDebug } from '../log.js';
import { NS_FILES, joinNamespace } from '../linux/namespaces.js';
import { checkCapabilities } from '../linux/capabilities.js';
import { checkStageReachable, nsexecPath, nsexecPrefix, type UserNamespace, userNamespaceOf, writeIdMappings } from '../linux/userns.js';
import { checkHooks, runHooks, runHooksWarn } from '../linux/hooks.js';
import { checkLabels } from '../linux/lsm.js';
import { checkRlimits } from '../linux/process.js';
import { checkSeccomp } from '../linux/seccomp.js';
import { CLONE, O } from '../sys/index.js';
import { createKoffiSys } from '../sys/koffi.js';
import { type CgroupManager, checkIntelRdt, createCgroupManager, effectiveResources } from './cgroup.js';
import { loadBundle } from './config.js';
import type { InitPlan } from './stage.js';
import { ensureRoot, fifoPath, procStat, type SavedState, saveState, writeAtomic } from './state.js';
import { removeEmptyBerthParents } from './lifecycle.js';
import { MessageReader } from './sync.js';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /**
   * The caller will not wait for the init's exit (`create`, `run -d`): an init that
   * berth-nsexec forked (user + new pid namespace) is then left to the caller's
   * subreaper, as any init is once the caller exits; `exited` then means nothing.
   */
  detached?: boolean;
  /** How to start a stage: defaults to this Node and this script (the CLI bundle). */
  stageCommand?: [string, ...string[]];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Created {
  state: SavedState;
  child: ChildProcess;
  exited: Promise<Exit>;
  cgroup: CgroupManager;
}

export function stageCommand(): [string, ...string[]] {
  return [process.execPath, resolve(process.argv[1])];
}

export interface StageSpawnOptions {
  /** Extra arguments after the stage's (its sync fd number). */
  extra?: string[];
  /** Open fds of this process the stage gets right after the sync socket (syncFd + 1, + 2...). */
  fds?: number[];
  /**
   * A user namespace to start the stage in, through berth-nsexec. `newPidNs`: it also
   * unshares the pid namespace and forks the stage; `wait`: it then stays as the
   * stage's parent and exits as it does (see nsexecPrefix).
   */
  userns?: { ns: UserNamespace; newPidNs: boolean; wait: boolean };
}

/** Spawns a stage with stdio 0-2 inherited, `preserveFds` more, and the sync socket after them. */
export function spawnStage(
  stage: string,
  preserveFds: number,
  cmd: [string, ...string[]],
  opts: StageSpawnOptions = {},
): { child: ChildProcess; sync: MessageReader & { write(s: string): void }; exited: Promise<Exit> } {
  const syncFd = 3 + preserveFds;
  const stdio: any[] = ['inherit', 'inherit', 'inherit'];
  for (let fd = 3; fd < syncFd; fd++) stdio.push(fd);
  stdio.push('pipe');
  for (const fd of opts.fds ?? []) stdio.push(fd);
  let argv: string[] = [...cmd, stage, String(syncFd), ...(opts.extra ?? [])];
  const viaHelper = !!opts.userns && opts.userns.ns.mode !== 'none';
  if (viaHelper) {
    checkStageReachable(cmd, opts.userns!.ns);
    argv = [...nsexecPrefix(nsexecPath(cmd), syncFd, opts.userns!.ns, opts.userns!.newPidNs, opts.userns!.wait), ...argv];
  }
  const child = spawn(argv[0], argv.slice(1), { stdio, env: {} });
  const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  child.once('error', () => {});
  const stream = child.stdio[syncFd] as Readable & { write(s: string): void };
  // A helper that forks the stage and exits at once is no sign of the stage's end:
  // the sync socket closing (the stage's end of it) is.
  const forked = viaHelper && opts.userns!.newPidNs && !opts.userns!.wait;
  const ended = forked
    ? new Promise<Exit>((res) => {
        const done = () => res({ code: null, signal: null });
        stream.once('end', done);
        stream.once('close', done);
      })
    : exited;
  const reader = new MessageReader(stream, ended) as MessageReader & { write(s: string): void };
  reader.write = (s: string) => stream.write(s);
  return { child, sync: reader, exited };
}

export async function create(opts: CreateOptions): Promise<Created> {
  // Only what spawning the init needs is read before it starts; the full
  // validation runs while the new Node boots (it costs as much as a Node start).
  const pre = await preflight(opts.bundle);
  ensureRoot(opts.root);
  const dir = join(opts.root, opts.id);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (err: any) {
    if (err?.code === 'EEXIST') throw alreadyExists(`container with id exists: ${opts.id}`);
    throw err;
  }
  let child: ChildProcess | undefined;
  let initPid: number | undefined;
  let cgroup: CgroupManager | undefined;
  let poststop: { hooks: NonNullable<InitPlan['spec']['hooks']>; state: InitPlan['ociState'] } | undefined;
  try {
    const sys = createKoffiSys();
    const fifo = fifoPath(dir);
    sys.mkfifo(fifo, 0o622);
    const pidNs = pre.pidNs;
    const userns = pre.userns;
    // With a user namespace, a new pid namespace is made by berth-nsexec after it: the
    // user namespace must own the pid namespace for the init to mount proc.
    const helperPidNs = userns.mode !== 'none' && !!pidNs && !pidNs.path;
    const parentPidNs = !!pidNs && !helperPidNs;
    // While pid_for_children differs from its own pid namespace, the kernel refuses
    // this process new threads (clone(CLONE_THREAD) → EINVAL, and libuv aborts), so
    // it steps back into its own namespace as soon as the init is spawned.
    const ownPidNs = parentPidNs ? sys.open('/proc/self/ns/pid', O.RDONLY | O.CLOEXEC) : -1;
    if (pidNs?.path) joinNamespace(sys, pidNs.path, 'pid');
    else if (parentPidNs) sys.unshare(CLONE.NEWPID);
    // An init in a user namespace is not root on the host: it may not be able to reach
    // the state dir, so it gets the exec.fifo as an fd (the one after the sync socket)...
    const fifoFd = userns.mode !== 'none' ? sys.open(fifo, O.PATH | O.CLOEXEC) : -1;
    // ...and must be able to open it for writing (mkfifo's mode went through the umask).
    if (fifoFd >= 0) chmodSync(fifo, 0o622);
    // The same for the console socket: connected here, passed as the next fd.
    const consoleFd = fifoFd >= 0 && pre.terminal && opts.consoleSocket ? sys.connectUnix(resolve(opts.consoleSocket)) : -1;
    const fds = [fifoFd, consoleFd].filter((fd) => fd >= 0);
    const fdIn = (fd: number) => 4 + (opts.preserveFds ?? 0) + fds.indexOf(fd);
    let stage: ReturnType<typeof spawnStage>;
    try {
      stage = spawnStage('__init', opts.preserveFds ?? 0, opts.stageCommand ?? stageCommand(), {
        fds,
        userns: { ns: userns, newPidNs: helperPidNs, wait: !opts.detached },
      });
    } finally {
      if (ownPidNs >= 0) {
        sys.setns(ownPidNs, CLONE.NEWPID);
        sys.close(ownPidNs);
      }
      if (fifoFd >= 0) sys.close(fifoFd);
      if (consoleFd >= 0) sys.close(consoleFd);
    }
    child = stage.child;
    if (!child.pid) throw new RuntimeError('Internal', 'cannot start the container init');
    let pid: number = child.pid;
    initPid = pid;
    // Known before anything can fail, so that a failure below also removes the cgroup.
    cgroup = createCgroupManager({ cgroupsPath: pre.cgroupsPath, id: opts.id });
    if (userns.mode !== 'none') {
      let msg = await stage.sync.next();
      if (msg.type === 'userns' && userns.mode === 'new') {
        writeIdMappings(child.pid, userns.uidMappings, userns.gidMappings);
        stage.sync.write(`${JSON.stringify({ type: 'mapped' })}\n`);
        msg = await stage.sync.next();
      }
      if (msg.type === 'error') throw invalid(`user namespace: ${msg.message}`);
      // The forked init's host pid; without a fork the helper itself becomes the init.
      if (msg.type === 'pid' && helperPidNs) initPid = pid = msg.pid;
      else if (msg.type !== 'joined') throw new RuntimeError('Internal', `unexpected message from berth-nsexec: ${JSON.stringify(msg)}`);
    }
    const { spec, rootfs, dir: bundle } = await loadBundle(opts.bundle);
    checkRlimits(spec.process?.rlimits);
    checkCapabilities(spec.process?.capabilities);
    checkSeccomp(spec.linux?.seccomp);
    checkHooks(spec.hooks);
    checkLabels({ ...spec.process, mountLabel: spec.linux?.mountLabel });
    checkIntelRdt(spec.linux?.intelRdt);
    if (spec.process?.terminal && !opts.consoleSocket) {
      // Only an attached run/exec (the CLI) proxies a terminal itself, as runc does.
      throw invalid('process.terminal needs --console-socket: cannot allocate tty without a console socket');
    }
    if (!spec.process?.terminal && opts.consoleSocket) {
      throw invalid('cannot use console socket if berth-runtime will not detach or allocate tty');
    }
    const namespaces = spec.linux?.namespaces ?? [];
    const booted = await stage.sync.next();
    if (booted.type === 'error') throw invalid(booted.message);
    // This process makes every cgroup directory and moves the init in (cgroup.procs
    // moves all its threads) before the init has its plan and can run anything, so a
    // failure anywhere is cleaned up by this process, which knows every directory.
    // Only once the init has booted: v1 memory does not move charges with a task, so
    // Node's start-up memory stays out of a small container limit (docker's 6 MB).
    applyCgroup(cgroup, pid);
    if (spec.linux?.resources) cgroup.set(effectiveResources(spec.linux.resources));
    const plan: InitPlan = {
      kind: 'init',
      spec,
      rootfs,
      fifo,
      fifoFd: fifoFd >= 0 ? fdIn(fifoFd) : undefined,
      consoleFd: consoleFd >= 0 ? fdIn(consoleFd) : undefined,
      noPivot: !!opts.noPivot,
      consoleSocket: opts.consoleSocket && resolve(opts.consoleSocket),
      preserveFds: opts.preserveFds ?? 0,
      cgroupPaths: cgroup.paths,
      ociState: { ociVersion: spec.ociVersion, id: opts.id, status: 'creating', pid, bundle, annotations: spec.annotations ?? {} },
      parentHooks: !!(spec.hooks?.prestart?.length || spec.hooks?.createRuntime?.length),
    };
    // From here on the container exists: a failure stops it and goes on to delete's
    // steps, poststop hooks included (runtime.md lifecycle steps 5-7 → 12-14; runc's
    // destroy does the same).
    if (spec.hooks?.poststop?.length) poststop = { hooks: spec.hooks, state: plan.ociState };
    stage.sync.write(`${JSON.stringify(plan)}\n`);
    let msg = await stage.sync.next();
    if (msg.type === 'hooks') {
      // The init has its mounts and waits before pivot_root: the runtime's hooks run now, in its own namespaces.
      try {
        // runtime-tools' hooks_stdin holds prestart to status "created" (the runtime-spec 1.0
        // moment, at start); runc 1.1.5 passes "creating" and fails that check.
        runHooks('prestart', spec.hooks, { ...plan.ociState, status: 'created' });
        runHooks('createRuntime', spec.hooks, plan.ociState);
      } catch (err: any) {
        throw invalid(err?.message ?? String(err));
      }
      stage.sync.write(`${JSON.stringify({ type: 'hooksDone' })}\n`);
      msg = await stage.sync.next();
    }
    if (msg.type === 'error') throw invalid(msg.message);
    logDebug(`container ${opts.id}: init pid ${pid}, cgroups ${JSON.stringify(cgroup.paths)}`);
    const st = procStat(pid);
    const nsPaths: Record<string, string> = {};
    for (const ns of namespaces) nsPaths[ns.type] = ns.path || `/proc/${pid}/ns/${NS_FILES[ns.type]}`;
    const state: SavedState = {
      ociVersion: spec.ociVersion,
      id: opts.id,
      pid,
      pidStartTime: st?.start ?? '',
      bundle,
      rootfs,
      created: new Date().toISOString(),
      owner: safeUser(),
      annotations: spec.annotations,
      cgroupsPath: spec.linux?.cgroupsPath,
      namespaces: nsPaths,
      newPidNs: !!pidNs && !pidNs.path,
    };
    if (spec.hooks?.poststart?.length || spec.hooks?.poststop?.length) {
      state.hooks = { poststart: spec.hooks.poststart, poststop: spec.hooks.poststop };
    }
    saveState(dir, state);
    if (opts.pidFile) writeAtomic(resolve(opts.pidFile), String(pid), 0o644);
    stage.sync.close();
    return { state, child, exited: stage.exited, cgroup };
  } catch (err) {
    if (child?.pid) {
      // The init first: berth-nsexec, when it is still its parent, then ends the same way.
      for (const pid of initPid && initPid !== child.pid ? [initPid, child.pid] : [child.pid]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      await new Promise((r) => (child!.exitCode !== null || child!.signalCode !== null ? r(null) : child!.once('exit', r)));
    }
    if (cgroup) {
      cgroup.killAll(9);
      cgroup.destroy();
      removeEmptyBerthParents(cgroup.paths);
    }
    rmSync(dir, { recursive: true, force: true });
    if (poststop) runHooksWarn('poststop', poststop.hooks, { ...poststop.state, status: 'stopped' });
    throw err;
  }
}

/** cgroup.apply, again when a concurrent delete removed an empty parent (`/berth`) between its mkdir steps. */
function applyCgroup(cgroup: CgroupManager, pid: number): void {
  for (let attempt = 1; ; attempt++) {
    try {
      cgroup.apply(pid);
      return;
    } catch (err: any) {
      if (attempt >= 3 || (err?.code !== 'ENOENT' && err?.errno !== 'ENOENT')) throw err;
    }
  }
}

/** The pid namespace entry, read from config.json without full validation (see create). */
async function preflight(
  bundleDir: string,
): Promise<{ pidNs?: { type: string; path?: string }; cgroupsPath?: string; userns: UserNamespace; terminal: boolean }> {
  let doc: any;
  try {
    doc = JSON.parse(readFileSync(join(resolve(bundleDir), 'config.json'), 'utf8'));
  } catch {
    // loadBundle reports it with the right message.
    await loadBundle(bundleDir);
    throw invalid('config.json: cannot be read');
  }
  const nss = doc?.linux?.namespaces;
  const pidNs = Array.isArray(nss) ? nss.find((n: any) => n?.type === 'pid') : undefined;
  if (pidNs && pidNs.path !== undefined && typeof pidNs.path !== 'string') await loadBundle(bundleDir);
  const cgroupsPath = typeof doc?.linux?.cgroupsPath === 'string' ? doc.linux.cgroupsPath : undefined;
  return { pidNs, cgroupsPath, userns: userNamespaceOf(doc?.linux), terminal: doc?.process?.terminal === true };
}

function safeUser(): string {
  try {
    return userInfo().username === 'root' ? '' : userInfo().username;
  } catch {
    return '';
  }
}
