// The one cgroup interface the runtime uses, with v1 (v1.ts) and v2 (v2.ts)
// implementations behind createCgroupManager (youki's libcgroups shape).
//
// Contract, beyond the signatures:
// - createCgroupManager only computes paths; nothing is created before apply().
//   cgroupsPath: absolute → below each hierarchy's mountpoint; relative → below the
//   runtime's own cgroup (/proc/self/cgroup), like runc; empty → `/berth/<id>`;
//   systemd's `slice:prefix:name` → CgroupError (no systemd driver).
// - v1 `paths` has one key per mounted controller (`cpu`, `memory`...), plus
//   `name=systemd` and `` (the unified hierarchy) on a hybrid host; those two are
//   joined best effort. v2 `paths` is `{ "": dir }`.
// - apply() creates the directories and moves the pid in; if it or set() throws,
//   the caller calls destroy(), which removes the container's leaf directory and
//   its descendants (never parents such as /berth, which may be shared), waiting
//   for exiting processes.
// - set() applies every field of linux.resources it can; a field the host cannot
//   honour (controller not mounted/enabled, file missing, a v1-only field on v2)
//   throws a CgroupError naming the field and the file, before any write when it
//   can be known up front. Device rules are written to v1's devices controller
//   as given (the caller adds the default allowed devices, as runc's specconv
//   does); on v2 they become an eBPF device program attached to the cgroup
//   (devices-bpf.ts), with v1's rule semantics.
// - Additions to the agreed interface: createCgroupManager's `signal` option (how
//   killAll delivers signals; tests pass a recorder), CgroupError (`kind`, `path`,
//   `errno`), and the fake CgroupFs in fake.ts for other modules' unit tests.
import { posix } from 'node:path';
import { defaultSignaller, type Signaller } from './common.js';
import type { DeviceFilter } from './devices-bpf.js';
import { realCgroupFs } from './fs.js';
import { dirIn, findHierarchies, normaliseCgroupsPath, ownCgroups } from './paths.js';
import { CgroupError, type CgroupFs, type CgroupStats, type LinuxResources } from './types.js';
import { V1Manager } from './v1.js';
import { V2Manager } from './v2.js';

export { CgroupError, type CgroupFs, type CgroupStats, type BlkioEntry, type CgroupErrorKind } from './types.js';

export interface CgroupManager {
  readonly version: 1 | 2;
  /** controller → directory (v2: `{ "": dir }`). */
  readonly paths: Record<string, string>;
  /** Creates the directories and writes pid into cgroup.procs. */
  apply(pid: number): void;
  /** All of linux.resources the host supports; anything else → CgroupError naming it. */
  set(resources: LinuxResources): void;
  freeze(): void;
  thaw(): void;
  state(): 'frozen' | 'thawed';
  /** Every pid in the cgroup and its descendants, ascending. */
  pids(): number[];
  stats(): CgroupStats;
  /** Signals every process in the cgroup (frozen meanwhile so none escapes by forking). */
  killAll(signal: number): void;
  /** Removes the directories, retrying while processes exit; no leftovers. */
  destroy(): void;
  exists(): boolean;
}

export interface CgroupManagerOptions {
  cgroupsPath?: string;
  id: string;
  /** Where the cgroup hierarchies are mounted; default /sys/fs/cgroup. */
  root?: string;
  sys?: CgroupFs;
  signal?: (pid: number, signal: number) => void;
  /** v2: how device rules are loaded (default: the eBPF program); unit tests pass a recorder. */
  deviceFilter?: DeviceFilter;
}

const DEFAULT_ROOT = '/sys/fs/cgroup';

/** 2 when `root` itself is a cgroup2 mount (pure v2), else 1 (v1 or hybrid). */
export function detectCgroupVersion(root: string = DEFAULT_ROOT, sys: CgroupFs = realCgroupFs): 1 | 2 {
  return sys.exists(posix.join(root, 'cgroup.controllers')) ? 2 : 1;
}

export function createCgroupManager(opts: CgroupManagerOptions): CgroupManager {
  const fs = opts.sys ?? realCgroupFs;
  const root = (opts.root ?? DEFAULT_ROOT).replace(/\/+$/, '') || '/';
  const signaller: Signaller = opts.signal ?? defaultSignaller;
  const path = normaliseCgroupsPath(opts.cgroupsPath, opts.id);
  const own = ownCgroups(fs);
  const hierarchies = findHierarchies(fs, root);

  if (detectCgroupVersion(root, fs) === 2) {
    const h = hierarchies.find((x) => x.version === 2 && x.mountpoint === root) ?? { controllers: [], mountpoint: root, root: '/', version: 2 as const };
    return new V2Manager(fs, signaller, dirIn(h, own.get(''), path), root, opts.deviceFilter);
  }

  const paths: Record<string, string> = {};
  const mounts: Record<string, string> = {};
  for (const h of hierarchies) {
    if (h.version === 2) {
      // The hybrid layout's unified hierarchy (no controllers): joined so that
      // cgroup2-aware tools see the container.
      paths[''] = dirIn(h, own.get(''), path);
      mounts[''] = h.mountpoint;
      continue;
    }
    for (const c of h.controllers) {
      if (paths[c]) continue;
      paths[c] = dirIn(h, own.get(c), path);
      mounts[c] = h.mountpoint;
    }
  }
  if (Object.keys(paths).filter((k) => k !== '' && k !== 'name=systemd').length === 0) {
    throw new CgroupError('Unavailable', `no cgroup hierarchy is mounted under ${root}`);
  }
  return new V1Manager(fs, signaller, paths, mounts);
}
