// `create`: the parent side. It makes the state dir and the exec.fifo, enters (or
// makes) the pid namespace on its main thread so the init it spawns is pid 1 there,
// and validates config.json while the init boots and joins its cgroup (the init
// does that first, before it can run anything); then it sets the cgroup limits,
// sends the plan, waits for `ready` and writes state.json. Any failure removes
// everything it made: the init, the cgroup, the state dir.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { alreadyExists, invalid, RuntimeError } from '../errors.js';
import { logDebug } from '../log.js';
import { NS_FILES, joinNamespace } from '../linux/namespaces.js';
import { checkCapabilities } from '../linux/capabilities.js';
import { checkHooks, runHooks } from '../linux/hooks.js';
import { checkLabels } from '../linux/lsm.js';
import { checkRlimits } from '../linux/process.js';
import { checkSeccomp } from '../linux/seccomp.js';
import { CLONE, O } from '../sys/index.js';
import { createKoffiSys } from '../sys/koffi.js';
import { type CgroupManager, createCgroupManager, effectiveResources } from './cgroup.js';
import { loadBundle } from './config.js';
import type { InitPlan } from './stage.js';
import { ensureRoot, fifoPath, procStat, type SavedState, saveState, writeAtomic } from './state.js';
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

/** Spawns a stage with stdio 0-2 inherited, `preserveFds` more, and the sync socket after them. */
export function spawnStage(
  stage: string,
  preserveFds: number,
  cmd: [string, ...string[]],
  extra: string[] = [],
): { child: ChildProcess; sync: MessageReader & { write(s: string): void }; exited: Promise<Exit> } {
  const syncFd = 3 + preserveFds;
  const stdio: any[] = ['inherit', 'inherit', 'inherit'];
  for (let fd = 3; fd < syncFd; fd++) stdio.push(fd);
  stdio.push('pipe');
  const child = spawn(cmd[0], [...cmd.slice(1), stage, String(syncFd), ...extra], { stdio, env: {} });
  const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  child.once('error', () => {});
  const stream = child.stdio[syncFd] as Readable & { write(s: string): void };
  const reader = new MessageReader(stream, exited) as MessageReader & { write(s: string): void };
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
  let cgroup: CgroupManager | undefined;
  try {
    const sys = createKoffiSys();
    const fifo = fifoPath(dir);
    sys.mkfifo(fifo, 0o622);
    const pidNs = pre.pidNs;
    // While pid_for_children differs from its own pid namespace, the kernel refuses
    // this process new threads (clone(CLONE_THREAD) → EINVAL, and libuv aborts), so
    // it steps back into its own namespace as soon as the init is spawned.
    const ownPidNs = pidNs ? sys.open('/proc/self/ns/pid', O.RDONLY | O.CLOEXEC) : -1;
    if (pidNs?.path) joinNamespace(sys, pidNs.path, 'pid');
    else if (pidNs) sys.unshare(CLONE.NEWPID);
    // The init joins its cgroup itself, first thing, while this process validates
    // the config (both cost milliseconds; in parallel they overlap).
    const cgroupArg = JSON.stringify({ id: opts.id, cgroupsPath: pre.cgroupsPath });
    const stage = spawnStage('__init', opts.preserveFds ?? 0, opts.stageCommand ?? stageCommand(), [cgroupArg]);
    child = stage.child;
    if (ownPidNs >= 0) {
      sys.setns(ownPidNs, CLONE.NEWPID);
      sys.close(ownPidNs);
    }
    if (!child.pid) throw new RuntimeError('Internal', 'cannot start the container init');
    // Known before validation so that a failure below also removes the cgroup.
    cgroup = createCgroupManager({ cgroupsPath: pre.cgroupsPath, id: opts.id });
    const { spec, rootfs, dir: bundle } = await loadBundle(opts.bundle);
    checkRlimits(spec.process?.rlimits);
    checkCapabilities(spec.process?.capabilities);
    checkSeccomp(spec.linux?.seccomp);
    checkHooks(spec.hooks);
    checkLabels({ ...spec.process, mountLabel: spec.linux?.mountLabel });
    if (spec.process?.terminal && !opts.consoleSocket) {
      // Only an attached run/exec (the CLI) proxies a terminal itself, as runc does.
      throw invalid('process.terminal needs --console-socket: cannot allocate tty without a console socket');
    }
    if (!spec.process?.terminal && opts.consoleSocket) {
      throw invalid('cannot use console socket if berth-runtime will not detach or allocate tty');
    }
    const namespaces = spec.linux?.namespaces ?? [];
    const joined = await stage.sync.next();
    if (joined.type === 'error') throw invalid(joined.message);
    if (spec.linux?.resources) cgroup.set(effectiveResources(spec.linux.resources));
    const plan: InitPlan = {
      kind: 'init',
      spec,
      rootfs,
      fifo,
      noPivot: !!opts.noPivot,
      consoleSocket: opts.consoleSocket && resolve(opts.consoleSocket),
      preserveFds: opts.preserveFds ?? 0,
      cgroupPaths: cgroup.paths,
      ociState: { ociVersion: spec.ociVersion, id: opts.id, status: 'creating', pid: child.pid, bundle, annotations: spec.annotations ?? {} },
      parentHooks: !!(spec.hooks?.prestart?.length || spec.hooks?.createRuntime?.length),
    };
    stage.sync.write(`${JSON.stringify(plan)}\n`);
    let msg = await stage.sync.next();
    if (msg.type === 'hooks') {
      // The init has its mounts and waits before pivot_root: the runtime's hooks run now, in its own namespaces.
      try {
        runHooks('prestart', spec.hooks, plan.ociState);
        runHooks('createRuntime', spec.hooks, plan.ociState);
      } catch (err: any) {
        throw invalid(err?.message ?? String(err));
      }
      stage.sync.write(`${JSON.stringify({ type: 'hooksDone' })}\n`);
      msg = await stage.sync.next();
    }
    if (msg.type === 'error') throw invalid(msg.message);
    logDebug(`container ${opts.id}: init pid ${child.pid}, cgroups ${JSON.stringify(cgroup.paths)}`);
    const st = procStat(child.pid);
    const nsPaths: Record<string, string> = {};
    for (const ns of namespaces) nsPaths[ns.type] = ns.path || `/proc/${child.pid}/ns/${NS_FILES[ns.type]}`;
    const state: SavedState = {
      ociVersion: spec.ociVersion,
      id: opts.id,
      pid: child.pid,
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
    if (opts.pidFile) writeAtomic(resolve(opts.pidFile), String(child.pid), 0o644);
    stage.sync.close();
    return { state, child, exited: stage.exited, cgroup };
  } catch (err) {
    if (child?.pid) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {}
      await new Promise((r) => (child!.exitCode !== null || child!.signalCode !== null ? r(null) : child!.once('exit', r)));
    }
    if (cgroup) {
      cgroup.killAll(9);
      cgroup.destroy();
    }
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The pid namespace entry, read from config.json without full validation (see create). */
async function preflight(bundleDir: string): Promise<{ pidNs?: { type: string; path?: string }; cgroupsPath?: string }> {
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
  return { pidNs, cgroupsPath };
}

function safeUser(): string {
  try {
    return userInfo().username === 'root' ? '' : userInfo().username;
  } catch {
    return '';
  }
}
