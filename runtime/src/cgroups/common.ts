// What the v1 and v2 managers share: checked file access, recursive pid listing,
// removal that waits for exiting processes, and kill-all through the freezer.
import { posix } from 'node:path';
import { CgroupError, type CgroupFs, errnoOf, sleepMs, writeError } from './types.js';

export type Signaller = (pid: number, signal: number) => void;

export const defaultSignaller: Signaller = (pid, signal) => {
  try {
    process.kill(pid, signal);
  } catch (e) {
    if (errnoOf(e) !== 'ESRCH') throw e;
  }
};

export abstract class CgroupBase {
  constructor(
    protected readonly fs: CgroupFs,
    protected readonly signaller: Signaller,
  ) {}

  abstract freeze(): void;
  abstract thaw(): void;
  abstract state(): 'frozen' | 'thawed';
  abstract pids(): number[];

  protected writeFile(dir: string, file: string, data: string, what?: string): void {
    const path = posix.join(dir, file);
    try {
      this.fs.write(path, data);
    } catch (e) {
      throw writeError(e, path, data, what);
    }
  }

  /** The file's content, or undefined when it does not exist here. */
  protected readFile(dir: string, file: string): string | undefined {
    try {
      return this.fs.read(posix.join(dir, file));
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENODEV') return undefined;
      throw e;
    }
  }

  /** A numeric file; `max` (v2) and absent files give null. */
  protected readNumber(dir: string, file: string): number | null {
    const text = this.readFile(dir, file)?.trim();
    if (text === undefined || text === '' || text === 'max') return null;
    const n = Number(text.split(/\s+/)[0]);
    return Number.isFinite(n) ? n : null;
  }

  /** `key value` lines (memory.stat, cpu.stat, memory.events...). */
  protected readKeyed(dir: string, file: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const line of (this.readFile(dir, file) ?? '').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k && v !== undefined && Number.isFinite(Number(v))) out.set(k, Number(v));
    }
    return out;
  }

  /** Every pid in `dir`'s cgroup.procs and those of all its descendants. */
  protected pidsUnder(dir: string): number[] {
    const pids = new Set<number>();
    const walk = (d: string) => {
      for (const line of (this.readFile(d, 'cgroup.procs') ?? '').split('\n')) {
        const n = Number(line.trim());
        if (line.trim() && Number.isInteger(n)) pids.add(n);
      }
      let children: string[] = [];
      try {
        children = this.fs.readdir(d);
      } catch (e) {
        if (errnoOf(e) !== 'ENOENT') throw e;
      }
      for (const c of children) walk(posix.join(d, c));
    };
    walk(dir);
    return [...pids].sort((a, b) => a - b);
  }

  /**
   * rmdir of `dir` and its descendants, deepest first. A cgroup whose last process
   * is still exiting answers EBUSY for a moment, so retry for up to `timeoutMs`.
   */
  protected removeTree(dir: string, timeoutMs = 5000): void {
    if (!this.fs.exists(dir)) return;
    let children: string[] = [];
    try {
      children = this.fs.readdir(dir);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return;
      throw e;
    }
    for (const c of children) this.removeTree(posix.join(dir, c), timeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        this.fs.rmdir(dir);
        return;
      } catch (e) {
        const errno = errnoOf(e);
        if (errno === 'ENOENT') return;
        if (errno !== 'EBUSY' || Date.now() > deadline) {
          const left = this.pidsUnder(dir);
          const why = left.length ? ` (processes still inside: ${left.join(', ')})` : '';
          throw new CgroupError('Internal', `cannot remove cgroup ${dir}: ${errno ?? String(e)}${why}`, dir, errno);
        }
      }
      sleepMs(delay);
    }
  }

  /** Polls `done` for up to `timeoutMs`, sleeping between tries. */
  protected waitFor(done: () => boolean, timeoutMs: number, onRetry?: (attempt: number) => void): boolean {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0, delay = 1; ; attempt++, delay = Math.min(delay * 2, 20)) {
      if (done()) return true;
      if (Date.now() > deadline) return false;
      onRetry?.(attempt);
      sleepMs(delay);
    }
  }

  /**
   * Signals every process. The cgroup is frozen meanwhile so that no process can
   * fork a child that escapes the signal (runc's signalAllProcesses); a cgroup that
   * was paused stays paused unless the signal is SIGKILL, which needs the thaw to land.
   */
  protected signalFrozen(signal: number, canFreeze: boolean): void {
    const wasFrozen = canFreeze && this.state() === 'frozen';
    if (canFreeze && !wasFrozen) this.freeze();
    try {
      for (const pid of this.pids()) this.signaller(pid, signal);
    } finally {
      if (canFreeze && (!wasFrozen || signal === 9)) this.thaw();
    }
  }
}

export function deviceRule(r: { type?: string; major?: number | null; minor?: number | null; access?: string }): string {
  const num = (n: number | null | undefined) => (n === undefined || n === null || n < 0 ? '*' : String(n));
  return `${r.type ?? 'a'} ${num(r.major)}:${num(r.minor)} ${r.access || 'rwm'}`;
}

export function isDenyAll(r: { allow: boolean; type?: string; major?: number | null; minor?: number | null; access?: string }): boolean {
  const wild = (n: number | null | undefined) => n === undefined || n === null || n < 0;
  const access = r.access ?? 'rwm';
  return !r.allow && (r.type ?? 'a') === 'a' && wild(r.major) && wild(r.minor) && ['r', 'w', 'm'].every((c) => access.includes(c));
}
