// linux.seccomp compiled into a libseccomp filter. The stage compiles it before it
// reports ready (so a bad profile fails `create`) and loads it as the last step
// before execve — or, without no_new_privs, before dropping capabilities, since
// loading a filter then needs CAP_SYS_ADMIN (runc orders it the same way).
import type { LinuxSeccomp, LinuxSeccompAction, LinuxSyscall } from 'oci-spec-types';
import { invalid } from '../errors.js';
import type { Sys } from '../sys/index.js';
import { type Libseccomp, loadLibseccomp, SCMP_ACT, SCMP_ATTR, SCMP_CMP, type ScmpCondition, type ScmpCtx } from '../sys/libseccomp.js';

const EPERM = 1;

/** libseccomp's architecture names for the spec's SCMP_ARCH_* values. */
export function archName(arch: string): string {
  return arch.replace(/^SCMP_ARCH_/, '').toLowerCase();
}

const FLAG_ATTRS: Record<string, number | undefined> = {
  SECCOMP_FILTER_FLAG_TSYNC: SCMP_ATTR.CTL_TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SCMP_ATTR.CTL_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SCMP_ATTR.CTL_SSB,
};

/** The filter action code: ERRNO and TRACE carry errnoRet (EPERM when unset, as runc does). */
export function actionCode(action: LinuxSeccompAction, errnoRet?: number): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SCMP_ACT.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SCMP_ACT.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SCMP_ACT.TRAP;
    case 'SCMP_ACT_NOTIFY':
      return SCMP_ACT.NOTIFY;
    case 'SCMP_ACT_LOG':
      return SCMP_ACT.LOG;
    case 'SCMP_ACT_ALLOW':
      return SCMP_ACT.ALLOW;
    case 'SCMP_ACT_ERRNO':
      return (SCMP_ACT.ERRNO | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SCMP_ACT.TRACE | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    default:
      throw invalid(`linux.seccomp: unknown action "${action}"`);
  }
}

function usesNotify(cfg: LinuxSeccomp): boolean {
  return cfg.defaultAction === 'SCMP_ACT_NOTIFY' || (cfg.syscalls ?? []).some((s) => s.action === 'SCMP_ACT_NOTIFY');
}

/** Checks the parent can make before the stage compiles anything. */
export function checkSeccomp(cfg: LinuxSeccomp | undefined): void {
  if (!cfg) return;
  if (cfg.defaultAction === 'SCMP_ACT_NOTIFY') throw invalid('linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action');
  if (usesNotify(cfg) && !cfg.listenerPath) {
    throw invalid('linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath (a unix socket that receives the notify fd)');
  }
  for (const flag of cfg.flags ?? []) {
    if (!(flag in FLAG_ATTRS)) throw invalid(`linux.seccomp.flags: ${flag} is not supported by libseccomp 2.5`);
  }
  for (const [i, sc] of (cfg.syscalls ?? []).entries()) {
    for (const [j, a] of (sc.args ?? []).entries()) {
      if (a.index > 5) throw invalid(`linux.seccomp.syscalls[${i}].args[${j}].index: ${a.index} is not a syscall argument (0-5)`);
      if (!(a.op in SCMP_CMP)) throw invalid(`linux.seccomp.syscalls[${i}].args[${j}].op: unknown operator "${a.op}"`);
    }
  }
}

/** The conditions of one rule set: libseccomp ANDs the conditions of one rule and allows one per argument, so several comparisons of one argument become one rule each (ORed), as runc does. */
export function ruleConditions(sc: LinuxSyscall): ScmpCondition[][] {
  const args = sc.args ?? [];
  if (!args.length) return [[]];
  const conds = args.map((a) => ({
    arg: a.index,
    op: SCMP_CMP[a.op as keyof typeof SCMP_CMP],
    a: BigInt(a.value),
    b: BigInt(a.valueTwo ?? 0),
  }));
  const perArg = new Set(conds.map((c) => c.arg));
  return perArg.size === conds.length ? [conds] : conds.map((c) => [c]);
}

export interface CompiledSeccomp {
  ctx: ScmpCtx;
  notify: boolean;
}

/**
 * One filter context per architecture, merged into the native one at the end: on
 * x86 libseccomp rewrites socket-family rules onto socketcall, where two conditional
 * rules for one syscall (podman's socket pair) collapse into a conflict (EEXIST).
 * Compiled together, that conflict would drop the rule on every architecture; apart,
 * only the architecture that cannot express it loses it.
 */
export function compileSeccomp(lib: Libseccomp, cfg: LinuxSeccomp): CompiledSeccomp {
  checkSeccomp(cfg);
  const defaultCode = actionCode(cfg.defaultAction, cfg.defaultErrnoRet);
  const native = lib.archNative();
  const tokens: number[] = [];
  for (const arch of cfg.architectures ?? []) {
    const token = lib.archResolve(archName(arch));
    if (!token) throw invalid(`linux.seccomp.architectures: ${arch} is not known to libseccomp`);
    if (token !== native && !tokens.includes(token)) tokens.push(token);
  }
  const fresh = (): ScmpCtx => {
    const ctx = lib.init(defaultCode);
    try {
      // no_new_privs is the runtime's business (process.noNewPrivileges), not libseccomp's.
      lib.attrSet(ctx, SCMP_ATTR.CTL_NNP, 0);
      for (const flag of cfg.flags ?? []) lib.attrSet(ctx, FLAG_ATTRS[flag]!, 1);
    } catch (err) {
      lib.release(ctx);
      throw err;
    }
    return ctx;
  };
  const addRules = (ctx: ScmpCtx): void => {
    for (const sc of cfg.syscalls ?? []) {
      const code = actionCode(sc.action, sc.errnoRet);
      // A rule that repeats the default action is redundant, and libseccomp refuses it.
      if (code === defaultCode) continue;
      for (const name of sc.names) {
        const nr = lib.syscallResolve(name);
        // A name this architecture does not have is skipped, as runc does.
        if (nr < 0) continue;
        for (const conds of ruleConditions(sc)) lib.ruleAdd(ctx, code, nr, conds, name);
      }
    }
  };
  const ctx = fresh();
  try {
    addRules(ctx);
    for (const token of tokens) {
      const sub = fresh();
      try {
        lib.archAdd(sub, token);
        lib.archRemove(sub, native);
        addRules(sub);
        lib.merge(ctx, sub);
      } catch (err) {
        lib.release(sub);
        throw err;
      }
    }
  } catch (err) {
    lib.release(ctx);
    throw err;
  }
  return { ctx, notify: usesNotify(cfg) };
}

/**
 * Loads the compiled filter into the calling thread. With NOTIFY rules the listener
 * fd goes to the already connected `listener` socket with runc's process-state
 * message (`{ociVersion, fds: ["seccompFd"], pid, metadata, state}`).
 */
export function loadSeccomp(
  lib: Libseccomp,
  sys: Sys,
  filter: CompiledSeccomp,
  listener?: { fd: number; message: unknown },
): void {
  lib.load(filter.ctx);
  if (filter.notify && listener) {
    const notifyFd = lib.notifyFd(filter.ctx);
    sys.sendFd(listener.fd, JSON.stringify(listener.message), notifyFd);
    sys.close(notifyFd);
    sys.close(listener.fd);
  }
  lib.release(filter.ctx);
}

/**
 * The stage's half: loads libseccomp and compiles the filter now, while the host's
 * libraries and the listener socket path are still reachable (before pivot_root or
 * joining the container's mount namespace), and returns the loader to run last.
 */
export function prepareSeccomp(sys: Sys, cfg: LinuxSeccomp | undefined, pid: number, state: unknown): (() => void) | undefined {
  if (!cfg) return undefined;
  const lib = loadLibseccomp();
  const filter = compileSeccomp(lib, cfg);
  const listenerFd = filter.notify && cfg.listenerPath ? sys.connectUnix(cfg.listenerPath) : -1;
  const message = {
    ociVersion: '1.0.2',
    fds: ['seccompFd'],
    pid,
    metadata: cfg.listenerMetadata ?? '',
    state,
  };
  return () => loadSeccomp(lib, sys, filter, listenerFd >= 0 ? { fd: listenerFd, message } : undefined);
}
