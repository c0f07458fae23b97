// CVE-2019-5736 for the exec stage. The stage is the host's node binary, spawned
// straight into the container's pid namespace; it makes itself non-dumpable as its
// first act, but Node takes tens of milliseconds to get there, and a container
// process with every capability could open /proc/PID/exe in that window. So the
// stage is spawned from a private mount namespace where the binary is a read-only
// bind mount of itself: its exe link then leads to a read-only mount, and opening
// it for writing fails with EROFS whatever the container can do. The caller's
// thread goes back to its own mount namespace (and cwd) right after the spawn;
// the private one dies with the stage's move into the container's.
import { CLONE, MS, O, type Sys } from '../sys/index.js';

export function spawnFromReadOnlyExe<T>(sys: Sys, exe: string, spawn: () => T): T {
  const ownNs = sys.open('/proc/self/ns/mnt', O.RDONLY | O.CLOEXEC);
  const cwd = sys.open('.', O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    sys.unshare(CLONE.NEWNS);
    try {
      // Private first, so neither bind mount propagates back to the host.
      sys.mount(null, '/', null, MS.REC | MS.PRIVATE, null);
      sys.mount(exe, exe, null, MS.BIND, null);
      sys.mount(null, exe, null, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV, null);
      return spawn();
    } finally {
      sys.setns(ownNs, CLONE.NEWNS);
      sys.fchdir(cwd);
    }
  } finally {
    sys.close(cwd);
    sys.close(ownNs);
  }
}
