// The runtime's view of cgroups: the CgroupManager of ../cgroups, plus the device
// rules every container gets on top of linux.resources.devices (runc's specconv
// "AllowedDevices": mknod of anything, and the default devices, ptys and tun).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LinuxDeviceCgroup, LinuxIntelRdt, LinuxResources } from 'oci-spec-types';
import { invalid } from '../errors.js';

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
  // No /dev/console (5:1): a terminal container's console is its pty bind-mounted there,
  // covered by 136:*; runc leaves it out for the same reason.
  rule('c', 136, null, 'rwm'), // pts
  rule('c', 5, 2, 'rwm'), // ptmx
  rule('c', 10, 200, 'rwm'), // tun
];

/** linux.resources as the cgroup manager should apply it. */
export function effectiveResources(r: LinuxResources): LinuxResources {
  if (!r.devices) return r;
  return { ...r, devices: [...r.devices, ...DEFAULT_ALLOWED_DEVICES] };
}

/**
 * linux.intelRdt: berth-runtime has no resctrl support. Where the kernel lacks
 * resctrl the messages are runc's (which fails the same configs here); where it has
 * it, the config is still refused rather than silently ignored.
 */
export function checkIntelRdt(rdt: LinuxIntelRdt | undefined, resctrl = '/sys/fs/resctrl'): void {
  if (!rdt) return;
  if (rdt.l3CacheSchema && !existsSync(join(resctrl, 'info', 'L3'))) {
    throw invalid('intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled');
  }
  if (rdt.memBwSchema && !existsSync(join(resctrl, 'info', 'MB'))) {
    throw invalid('intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled');
  }
  if (!existsSync(join(resctrl, 'schemata'))) throw invalid('intelRdt is specified in config, but Intel RDT is not supported or enabled');
  throw invalid('linux.intelRdt: berth-runtime does not support Intel RDT (resctrl)');
}
