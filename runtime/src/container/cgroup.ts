// The runtime's view of cgroups: the CgroupManager of ../cgroups, plus the device
// rules every container gets on top of linux.resources.devices (runc's specconv
// "AllowedDevices": mknod of anything, and the default devices, ptys and tun).
import type { LinuxDeviceCgroup, LinuxResources } from 'oci-spec-types';

export { type CgroupManager, createCgroupManager } from '../cgroups/manager.js';

const rule = (type: string, major: number | null, minor: number | null, access: string): LinuxDeviceCgroup => ({ allow: true, type, major, minor, access });

export const DEFAULT_ALLOWED_DEVICES: LinuxDeviceCgroup[] = [
  rule('c', null, null, 'm'),
  rule('b', null, null, 'm'),
  rule('c', 1, 3, 'rwm'), // null
  rule('c', 1, 8, 'rwm'), // random
  rule('c', 1, 7, 'rwm'), // full
  rule('c', 5, 0, 'rwm'), // tty
  rule('c', 1, 5, 'rwm'), // zero
  rule('c', 1, 9, 'rwm'), // urandom
  rule('c', 5, 1, 'rwm'), // console
  rule('c', 136, null, 'rwm'), // pts
  rule('c', 5, 2, 'rwm'), // ptmx
  rule('c', 10, 200, 'rwm'), // tun
];

/** linux.resources as the cgroup manager should apply it. */
export function effectiveResources(r: LinuxResources): LinuxResources {
  if (!r.devices) return r;
  return { ...r, devices: [...r.devices, ...DEFAULT_ALLOWED_DEVICES] };
}
