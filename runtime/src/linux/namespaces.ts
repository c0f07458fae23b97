// Namespaces by OCI type. Pid is made or joined by the parent before it spawns the
// init (a pid namespace applies to children); the others by the init on its main thread.
import type { LinuxNamespace } from 'oci-spec-types';
import { CLONE, O, type Sys } from '../sys/index.js';

export const NS_FLAGS: Record<string, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  cgroup: CLONE.NEWCGROUP,
  user: CLONE.NEWUSER,
};

/** /proc/PID/ns file names by OCI type. */
export const NS_FILES: Record<string, string> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  cgroup: 'cgroup',
  user: 'user',
};

export function joinNamespace(sys: Sys, path: string, type: string): void {
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  try {
    sys.setns(fd, NS_FLAGS[type]);
  } finally {
    sys.close(fd);
  }
}

/** Joins the namespaces with a path and unshares the new ones, except `skip`. */
export function enterNamespaces(sys: Sys, namespaces: LinuxNamespace[], skip: string[]): void {
  let flags = 0;
  // Joining a mount namespace needs a private fs_struct; unshare(CLONE_NEWNS) implies it.
  sys.unshare(CLONE.FS);
  for (const ns of namespaces) {
    if (skip.includes(ns.type)) continue;
    if (ns.path) joinNamespace(sys, ns.path, ns.type);
    else flags |= NS_FLAGS[ns.type];
  }
  if (flags) sys.unshare(flags);
}
