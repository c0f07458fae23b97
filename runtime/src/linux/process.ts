// The last steps of a container process, on the thread that calls execve (caps,
// credentials and the signal mask are per-thread; execve then replaces the whole
// multi-threaded Node process): rlimits, capabilities, groups/gid/uid, umask, cwd,
// no_new_privs, inheritable stdio, every other fd close-on-exec, default signals.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import type { LinuxCapabilities, POSIXRlimit } from 'oci-spec-types';
import { invalid } from '../errors.js';
import { PR, type Sys } from '../sys/index.js';
import { CAPABILITIES, capMask, lastCap } from './capabilities.js';
import { secureJoin } from './paths.js';

export interface ProcessPlan {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask?: number;
  rlimits: POSIXRlimit[];
  noNewPrivileges: boolean;
  capabilities?: LinuxCapabilities;
  preserveFds: number;
  /** The compiled seccomp filter's loader (see seccomp.ts for when it runs). */
  seccomp?: () => void;
}

const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5, RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

export function checkRlimits(rlimits: POSIXRlimit[] = []): void {
  for (const [i, r] of rlimits.entries()) {
    if (!(r.type in RLIMITS)) throw invalid(`config.json: process.rlimits[${i}].type: unknown rlimit "${r.type}"`);
  }
}

/** The environment with HOME filled in from the container's /etc/passwd when unset (as runc does). */
export function withHome(env: string[], uid: number, passwd = '/etc/passwd'): string[] {
  if (env.some((e) => e.startsWith('HOME='))) return env;
  let home = '/';
  try {
    for (const line of readFileSync(passwd, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 6 && Number(f[2]) === uid && f[2] !== '') {
        home = f[5] || '/';
        break;
      }
    }
  } catch {}
  return [...env, `HOME=${home}`];
}

function executable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** exec.LookPath against the process's own PATH, inside the container's root. */
export function lookPath(file: string, env: string[], root = ''): string {
  const inRoot = (p: string) => (root && p.startsWith('/') ? secureJoin(root, p) : p);
  if (file.includes('/')) {
    if (executable(inRoot(file))) return file;
    throw invalid(`exec: "${file}": stat ${file}: no such file or directory`);
  }
  const path = env.filter((e) => e.startsWith('PATH=')).pop()?.slice(5) ?? '';
  for (const dir of path.split(':')) {
    const candidate = `${dir || '.'}/${file}`;
    if (executable(inRoot(candidate))) return candidate;
  }
  throw invalid(`exec: "${file}": executable file not found in $PATH`);
}

export function setRlimits(sys: Sys, rlimits: POSIXRlimit[]): void {
  for (const r of rlimits) sys.setrlimit(RLIMITS[r.type], BigInt(r.soft), BigInt(r.hard));
}

/** Never returns: the calling process becomes the container process. */
export function finalizeAndExec(sys: Sys, plan: ProcessPlan, exe: string): never {
  const caps = plan.capabilities;
  for (let fd = 0; fd < 3 + plan.preserveFds; fd++) {
    try {
      sys.makeInheritable(fd);
    } catch {
      // a closed stdio fd stays closed
    }
  }
  sys.closeRangeCloexec(3 + plan.preserveFds);
  sys.resetSignals();
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while this
  // thread still has it, before credentials and capabilities change (runc does too).
  if (plan.seccomp && !plan.noNewPrivileges) plan.seccomp();
  if (caps) {
    const bounding = capMask(caps.bounding, 'process.capabilities.bounding');
    for (let c = 0; c <= Math.min(lastCap(), CAPABILITIES.length - 1); c++) {
      if (!(bounding & (1n << BigInt(c)))) sys.prctl(PR.CAPBSET_DROP, c);
    }
    sys.prctl(PR.SET_KEEPCAPS, 1);
  }
  sys.setgroups(plan.additionalGids);
  sys.setresgid(plan.gid);
  sys.setresuid(plan.uid);
  sys.umask(plan.umask ?? 0o022);
  sys.chdir(plan.cwd);
  // CVE-2024-21626: a cwd such as /proc/self/fd/N must not land on a directory
  // outside the container's root; getcwd fails (ENOENT) exactly then.
  try {
    sys.getcwd();
  } catch {
    throw invalid(`process.cwd ${plan.cwd}: resolves outside the container's root filesystem`);
  }
  if (caps) {
    const ambient = capMask(caps.ambient, 'process.capabilities.ambient');
    sys.capset(
      capMask(caps.effective, 'process.capabilities.effective'),
      capMask(caps.permitted, 'process.capabilities.permitted'),
      capMask(caps.inheritable, 'process.capabilities.inheritable'),
    );
    for (let c = 0; c < CAPABILITIES.length; c++) {
      if (!(ambient & (1n << BigInt(c)))) continue;
      try {
        sys.prctl(PR.CAP_AMBIENT, PR.CAP_AMBIENT_RAISE, c);
      } catch {
        // Like runc: an ambient cap outside permitted∩inheritable is skipped, not fatal.
      }
    }
    sys.prctl(PR.SET_KEEPCAPS, 0);
  }
  if (plan.noNewPrivileges) sys.prctl(PR.SET_NO_NEW_PRIVS, 1);
  if (plan.seccomp && plan.noNewPrivileges) plan.seccomp();
  return sys.execve(exe, plan.args, plan.env);
}
