// A recording, in-memory CgroupFs that behaves like cgroupfs where the managers
// depend on it: writes need an existing directory, cgroup.procs appends, v2's
// cgroup.freeze drives cgroup.events, subtree_control decides a child's
// cgroup.controllers, rmdir refuses a cgroup with children or processes. Unit
// tests (here and in other runtime modules) assert on `writes`.
import { posix } from 'node:path';
import type { CgroupFs } from './types.js';

function errno(code: string, op: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${op} ${path}`), { code });
}

export class FakeCgroupFs implements CgroupFs {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>(['/']);
  /** Every successful write, in order. */
  readonly writes: { path: string; data: string }[] = [];
  /** Every mutating operation, in order: `mkdir P`, `write P DATA`, `rmdir P`. */
  readonly ops: string[] = [];
  /** File basenames (or full paths) that do not exist on this "kernel": writes fail ENOENT. */
  readonly missing = new Set<string>();
  /** An errno code (`EBUSY`) for a write the "kernel" refuses, or undefined to accept it. */
  failWrite?: (path: string, data: string) => string | undefined;

  constructor(
    readonly mode: 1 | 2,
    /** Hierarchy mountpoints; directories made below them get the kernel's default files. */
    readonly mountpoints: string[],
  ) {}

  private isMissing(path: string): boolean {
    return this.missing.has(path) || this.missing.has(posix.basename(path));
  }

  /** Presets a file (and its directory) without recording it. */
  seed(path: string, content: string): this {
    this.mkdirQuiet(posix.dirname(path));
    this.files.set(path, content);
    return this;
  }

  private mkdirQuiet(path: string): void {
    const parts = path.split('/').filter(Boolean);
    let cur = '';
    for (const p of parts) {
      cur += `/${p}`;
      if (!this.dirs.has(cur)) {
        this.dirs.add(cur);
        this.populate(cur);
      }
    }
  }

  /** The control files a new cgroup directory starts with. */
  private populate(dir: string): void {
    const mount = this.mountpoints.find((m) => dir.startsWith(`${m}/`));
    if (!mount) return;
    const parent = posix.dirname(dir);
    this.files.set(`${dir}/cgroup.procs`, '');
    if (this.mode === 2) {
      const enabled = (this.files.get(`${parent}/cgroup.subtree_control`) ?? '').split(/\s+/).filter(Boolean);
      this.files.set(`${dir}/cgroup.controllers`, enabled.join(' '));
      this.files.set(`${dir}/cgroup.subtree_control`, '');
      this.files.set(`${dir}/cgroup.freeze`, '0');
      this.files.set(`${dir}/cgroup.events`, 'populated 0\nfrozen 0\n');
      this.files.set(`${dir}/cgroup.kill`, '');
      return;
    }
    const hierarchy = posix.basename(mount);
    if (hierarchy === 'freezer') this.files.set(`${dir}/freezer.state`, 'THAWED');
    if (hierarchy === 'cpuset') {
      this.files.set(`${dir}/cpuset.cpus`, '');
      this.files.set(`${dir}/cpuset.mems`, '');
    }
    if (hierarchy === 'memory') this.files.set(`${dir}/memory.limit_in_bytes`, '9223372036854771712');
  }

  mkdir(path: string): void {
    this.ops.push(`mkdir ${path}`);
    this.mkdirQuiet(path);
  }

  write(path: string, data: string): void {
    const dir = posix.dirname(path);
    if (!this.dirs.has(dir) || this.isMissing(path)) throw errno('ENOENT', 'write', path);
    const refused = this.failWrite?.(path, data);
    if (refused) throw errno(refused, 'write', path);
    const name = posix.basename(path);
    if (name === 'cgroup.procs') {
      this.files.set(path, `${this.files.get(path) ?? ''}${data}\n`);
    } else if (name === 'cgroup.subtree_control') {
      const set = new Set((this.files.get(path) ?? '').split(/\s+/).filter(Boolean));
      for (const tok of data.split(/\s+/)) {
        if (tok.startsWith('+')) set.add(tok.slice(1));
        if (tok.startsWith('-')) set.delete(tok.slice(1));
      }
      this.files.set(path, [...set].join(' '));
    } else if (name === 'cgroup.freeze') {
      this.files.set(path, data);
      this.files.set(`${dir}/cgroup.events`, `populated 1\nfrozen ${data.trim()}\n`);
    } else if (name === 'cgroup.kill') {
      this.files.set(`${dir}/cgroup.procs`, '');
    } else {
      this.files.set(path, data);
    }
    this.writes.push({ path, data });
    this.ops.push(`write ${path} ${data}`);
  }

  read(path: string): string {
    const content = this.files.get(path);
    if (content === undefined) throw errno('ENOENT', 'read', path);
    return content;
  }

  rmdir(path: string): void {
    if (!this.dirs.has(path)) throw errno('ENOENT', 'rmdir', path);
    if (this.readdir(path).length > 0) throw errno('EBUSY', 'rmdir', path);
    if ((this.files.get(`${path}/cgroup.procs`) ?? '').trim()) throw errno('EBUSY', 'rmdir', path);
    this.dirs.delete(path);
    for (const f of [...this.files.keys()]) if (posix.dirname(f) === path) this.files.delete(f);
    this.ops.push(`rmdir ${path}`);
  }

  readdir(path: string): string[] {
    if (!this.dirs.has(path)) throw errno('ENOENT', 'readdir', path);
    return [...this.dirs].filter((d) => d !== path && posix.dirname(d) === path).map((d) => posix.basename(d));
  }

  exists(path: string): boolean {
    return this.dirs.has(path) || (this.files.has(path) && !this.isMissing(path));
  }

  /** Writes below `prefix`, as `relative/path=data` strings, for compact assertions. */
  writesUnder(prefix: string): string[] {
    return this.writes.filter((w) => w.path.startsWith(`${prefix}/`)).map((w) => `${w.path.slice(prefix.length + 1)}=${w.data}`);
  }
}

const V1_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids'];

/** This VM's hybrid layout: the v1 controllers, name=systemd, and an empty cgroup2 at unified. */
export function fakeV1Host(opts: { root?: string; own?: string; extra?: string[] } = {}): FakeCgroupFs {
  const root = opts.root ?? '/sys/fs/cgroup';
  const controllers = [...V1_CONTROLLERS, ...(opts.extra ?? [])];
  const lines = [`31 23 0:28 / ${root} rw,relatime - tmpfs tmpfs rw,mode=755`];
  for (const [i, c] of controllers.entries()) lines.push(`${32 + i} 31 0:${29 + i} / ${root}/${c} rw,relatime - cgroup cgroup rw,${c}`);
  lines.push(`60 31 0:60 / ${root}/systemd rw,relatime - cgroup cgroup rw,name=systemd`);
  lines.push(`61 31 0:61 / ${root}/unified rw,relatime - cgroup2 cgroup2 rw`);
  const own = opts.own ?? '/';
  const cgroupLines = controllers.map((c, i) => `${i + 1}:${c}:${own}`);
  cgroupLines.push(`${controllers.length + 1}:name=systemd:${own}`, `0::${own}`);
  const mountpoints = [...controllers.map((c) => `${root}/${c}`), `${root}/systemd`, `${root}/unified`];
  const fs = new FakeCgroupFs(1, mountpoints)
    .seed('/proc/self/mountinfo', `${lines.join('\n')}\n`)
    .seed('/proc/self/cgroup', `${cgroupLines.join('\n')}\n`);
  for (const m of mountpoints) fs.seed(`${m}/cgroup.procs`, '');
  fs.seed(`${root}/cpuset/cpuset.cpus`, '0-1').seed(`${root}/cpuset/cpuset.mems`, '0');
  return fs;
}

/** A pure cgroup v2 host with the usual controllers available at the root. */
export function fakeV2Host(opts: { root?: string; own?: string; controllers?: string[] } = {}): FakeCgroupFs {
  const root = opts.root ?? '/sys/fs/cgroup';
  const controllers = opts.controllers ?? ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'];
  return new FakeCgroupFs(2, [root])
    .seed('/proc/self/mountinfo', `30 23 0:26 / ${root} rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n`)
    .seed('/proc/self/cgroup', `0::${opts.own ?? '/'}\n`)
    .seed(`${root}/cgroup.controllers`, controllers.join(' '))
    .seed(`${root}/cgroup.subtree_control`, '')
    .seed(`${root}/cgroup.procs`, '');
}
