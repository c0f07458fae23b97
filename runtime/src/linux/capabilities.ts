// Capability names (CAP_*) and their bit numbers, in the kernel's order.
import { readFileSync } from 'node:fs';
import type { LinuxCapabilities } from 'oci-spec-types';
import { invalid } from '../errors.js';

export const CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

export function lastCap(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    return CAPABILITIES.length - 1;
  }
}

/** A 64-bit mask of the named capabilities; unknown names are an error naming `field`. */
export function capMask(names: string[] | undefined, field: string): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const n = CAPABILITIES.indexOf(name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`);
    if (n < 0) throw invalid(`${field}: unknown capability "${name}"`);
    mask |= 1n << BigInt(n);
  }
  return mask;
}

/** Every capability set of a process, checked before anything starts. runc and crun accept unknown names; berth refuses them. */
export function checkCapabilities(caps: LinuxCapabilities | undefined, field = 'process.capabilities'): void {
  for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
    capMask(caps?.[set], `${field}.${set}`);
  }
}
