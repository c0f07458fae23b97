// Shared types of the cgroup managers (see manager.ts for the interface's contract).
import type { LinuxResources } from 'oci-spec-types';

export type { LinuxResources };

/**
 * Every file operation a manager performs. The real one (fs.ts) talks to
 * /sys/fs/cgroup and /proc; the recording fake (fake.ts) lets unit tests assert the
 * exact writes for a resources block on a v1 or a v2 layout without root.
 */
export interface CgroupFs {
  /** mkdir -p; no error when it exists. */
  mkdir(path: string): void;
  /** One write(2) of `data` to an existing file (cgroup files take one value per write). */
  write(path: string, data: string): void;
  read(path: string): string;
  rmdir(path: string): void;
  /** Names of the child directories (child cgroups) of `path`. */
  readdir(path: string): string[];
  exists(path: string): boolean;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  /** `Read`, `Write`, `Sync`, `Async`, `Discard`, `Total`. */
  op: string;
  value: number;
}

export interface CgroupStats {
  /** All times in nanoseconds. */
  cpu: {
    usageTotal: number;
    usageUser: number;
    usageSystem: number;
    periods: number;
    throttledPeriods: number;
    throttledTime: number;
  };
  /** Bytes; a null limit means unlimited (or not readable). */
  memory: {
    usage: number;
    maxUsage: number | null;
    limit: number | null;
    cache: number;
    swapUsage: number | null;
    swapLimit: number | null;
    /** Times the limit was hit (v2 memory.events `oom`, v1 memory.failcnt). */
    oom: number;
    /** Processes killed by the OOM killer in this cgroup. */
    oomKill: number;
  };
  pids: { current: number; limit: number | null };
  /** blkio (v1) or io.stat (v2), recursive. */
  blkio: { serviceBytes: BlkioEntry[]; serviced: BlkioEntry[] };
}

export type CgroupErrorKind = 'InvalidArgument' | 'NotFound' | 'Unavailable' | 'Internal';

/** The cgroup layer's one error type; `kind` maps to runc-style errors at the CLI. */
export class CgroupError extends Error {
  constructor(
    readonly kind: CgroupErrorKind,
    message: string,
    readonly path?: string,
    readonly errno?: string,
  ) {
    super(message);
    this.name = 'CgroupError';
  }
}

export function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file (the controller or this file is not available on this kernel)',
  EINVAL: 'invalid argument',
  EBUSY: 'device or resource busy',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EOPNOTSUPP: 'operation not supported',
  ENOTSUP: 'operation not supported',
  ERANGE: 'value out of range',
  ENODEV: 'no such device',
};

/** Wraps a failed write of a cgroup file into an error naming the file and the resource. */
export function writeError(e: unknown, file: string, data: string, what?: string): CgroupError {
  const errno = errnoOf(e);
  const text = errno ? (ERRNO_TEXT[errno] ?? errno) : e instanceof Error ? e.message : String(e);
  const forWhat = what ? ` for ${what}` : '';
  const kind = errno === 'ENOENT' ? 'Unavailable' : errno === 'EINVAL' || errno === 'ERANGE' ? 'InvalidArgument' : 'Internal';
  return new CgroupError(kind, `cannot write ${JSON.stringify(data.trim())} to ${file}${forWhat}: ${text}`, file, errno);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread; the manager's API is synchronous (the runtime's CLI is). */
export function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
