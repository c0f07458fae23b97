// Docker's container model → an OCI runtime spec (config.json), with dockerd's
// defaults: its capability set, masked and read-only paths, device rules, /dev/shm
// of 64 MiB, and the per-container /etc/hosts, /etc/hostname, /etc/resolv.conf.
import { DEFAULT_CAPABILITIES, DEFAULT_READONLY_PATHS } from 'oci-spec-types';
import { invalid } from '../errors.js';
import type { ContainerRecord } from './model.js';

export const DEFAULT_CAPS = DEFAULT_CAPABILITIES;

export const ALL_CAPS = [
  'CAP_AUDIT_CONTROL', 'CAP_AUDIT_READ', 'CAP_AUDIT_WRITE', 'CAP_BLOCK_SUSPEND', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_KILL', 'CAP_LEASE', 'CAP_LINUX_IMMUTABLE', 'CAP_MAC_ADMIN', 'CAP_MAC_OVERRIDE', 'CAP_MKNOD', 'CAP_NET_ADMIN',
  'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_RAW', 'CAP_PERFMON', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP',
  'CAP_SETUID', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_CHROOT', 'CAP_SYS_MODULE', 'CAP_SYS_NICE', 'CAP_SYS_PACCT',
  'CAP_SYS_PTRACE', 'CAP_SYS_RAWIO', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
];

const MASKED = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const READONLY = DEFAULT_READONLY_PATHS;

// The character devices every container may use (as dockerd's default rules).
const DEVICE_RULES = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

export function normalizeCap(c: string): string {
  const u = c.toUpperCase();
  return u === 'ALL' ? 'ALL' : u.startsWith('CAP_') ? u : `CAP_${u}`;
}

export function capabilities(add: string[] = [], drop: string[] = [], privileged = false): string[] {
  if (privileged) return [...ALL_CAPS];
  const adds = add.map(normalizeCap);
  const drops = drop.map(normalizeCap);
  for (const c of [...adds, ...drops]) {
    if (c !== 'ALL' && !ALL_CAPS.includes(c)) throw invalid(`unknown capability: "${c}"`);
  }
  let caps = drops.includes('ALL') ? [] : DEFAULT_CAPS.filter((c) => !drops.includes(c));
  if (adds.includes('ALL')) caps = ALL_CAPS.filter((c) => !drops.includes(c) || adds.includes(c));
  else for (const c of adds) if (!caps.includes(c)) caps.push(c);
  return caps;
}

export interface SpecPaths {
  hostsPath: string;
  hostnamePath: string;
  resolvConfPath: string;
  /** --init: the init binary bound at /sbin/docker-init, which runs the command. */
  initPath?: string;
}

export interface ExtraMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** A numeric user spec `uid[:gid]`; names are resolved by the caller against the rootfs. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
  /** From passwd: HOME when the container's env has none. */
  home?: string;
}

export function parseNumericUser(user: string | undefined): ResolvedUser | undefined {
  if (!user) return { uid: 0, gid: 0 };
  const m = /^([0-9]+)(?::([0-9]+))?$/.exec(user);
  if (!m) return undefined;
  return { uid: Number(m[1]), gid: m[2] ? Number(m[2]) : Number(m[1]) === 0 ? 0 : Number(m[1]) };
}

export function buildSpec(
  c: ContainerRecord,
  paths: SpecPaths,
  user: ResolvedUser,
  extraMounts: ExtraMount[] = [],
  netns: 'new' | 'host' = 'new',
): any {
  const hc = c.HostConfig;
  const privileged = !!hc.Privileged;
  const caps = capabilities(hc.CapAdd ?? [], hc.CapDrop ?? [], privileged);
  const secOpts = hc.SecurityOpt ?? [];
  let noNewPrivileges = false;
  let seccompUnconfined = privileged;
  for (const o of secOpts) {
    const [k, v] = o.includes('=') ? [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)] : o.split(':');
    if (k === 'no-new-privileges') noNewPrivileges = v === undefined || v === '' || v === 'true';
    else if (k === 'seccomp' && v === 'unconfined') seccompUnconfined = true;
    else if (k === 'label' || k === 'apparmor') continue;
    else throw invalid(`Invalid --security-opt: "${o}"`);
  }
  void seccompUnconfined;
  const env = [...(c.Config.Env ?? [])];
  if (!env.some((e) => e.startsWith('HOSTNAME='))) env.unshift(`HOSTNAME=${c.Config.Hostname}`);
  if (c.Config.Tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  if (user.home && !env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`);
  if (!env.some((e) => e.startsWith('PATH='))) {
    env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  }
  const rlimits = (hc.Ulimits ?? []).map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard }));
  const shmSize = hc.ShmSize && hc.ShmSize > 0 ? hc.ShmSize : 64 * 1024 * 1024;

  const mounts: any[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] },
    { destination: '/etc/resolv.conf', type: 'bind', source: paths.resolvConfPath, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: paths.hostnamePath, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: paths.hostsPath, options: ['rbind', 'rprivate'] },
    ...extraMounts,
    ...(paths.initPath ? [{ destination: '/sbin/docker-init', type: 'bind', source: paths.initPath, options: ['bind', 'ro'] }] : []),
  ];

  const resources: any = { devices: privileged ? [{ allow: true, access: 'rwm' }] : DEVICE_RULES, ...resourcesOf(hc) };

  const namespaces: any[] = [{ type: 'mount' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }, { type: 'cgroup' }];
  if (netns === 'new') namespaces.push({ type: 'network' });

  return {
    ociVersion: '1.2.0',
    process: {
      terminal: !!c.Config.Tty,
      ...(c.Config.Tty && Array.isArray(hc.ConsoleSize) && hc.ConsoleSize[0]
        ? { consoleSize: { height: hc.ConsoleSize[0], width: hc.ConsoleSize[1] } }
        : {}),
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids?.length ? { additionalGids: user.additionalGids } : {}) },
      args: paths.initPath ? ['/sbin/docker-init', '--', c.Path, ...c.Args] : [c.Path, ...c.Args],
      env,
      cwd: c.Config.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits,
      noNewPrivileges,
    },
    root: { path: 'rootfs', readonly: !!hc.ReadonlyRootfs },
    hostname: c.Config.Hostname,
    mounts,
    linux: {
      resources,
      cgroupsPath: `/berth/${c.ID}`,
      namespaces,
      ...(privileged ? {} : { maskedPaths: MASKED, readonlyPaths: READONLY }),
    },
  };
}

/** HostConfig's limits → OCI linux.resources (without devices): for create and for update. */
export function resourcesOf(hc: ContainerRecord['HostConfig']): any {
  const resources: any = {};
  const memory: any = {};
  if (hc.Memory) memory.limit = hc.Memory;
  if (hc.MemorySwap) memory.swap = hc.MemorySwap;
  if (Object.keys(memory).length) resources.memory = memory;
  const cpu: any = {};
  if (hc.NanoCpus) {
    if (hc.CpuQuota || hc.CpuPeriod) throw invalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
    cpu.period = 100000;
    cpu.quota = Math.round((hc.NanoCpus * 100000) / 1e9);
  }
  if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
  if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
  if (hc.CpuShares) cpu.shares = hc.CpuShares;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (Object.keys(cpu).length) resources.cpu = cpu;
  if (hc.PidsLimit && hc.PidsLimit > 0) resources.pids = { limit: hc.PidsLimit };
  if (hc.BlkioWeight) resources.blockIO = { weight: hc.BlkioWeight };
  return resources;
}
