// The OCI spec `berth ctr` gives a container made from a rootfs path (what
// `runc spec` writes, with Docker's default capabilities and masked paths).
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError } from './args.js';

const CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export function defaultSpec(id: string, rootfs: string, args: string[], terminal: boolean): any {
  return {
    ociVersion: '1.2.0',
    process: {
      terminal,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(terminal ? ['TERM=xterm'] : [])],
      cwd: '/',
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: false },
    hostname: id.slice(0, 63),
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

export interface SpecOptions {
  rootfs?: string;
  bundle?: string;
  args: string[];
  terminal: boolean;
  env: string[];
  cwd?: string;
  readOnly: boolean;
}

/** The spec for `containers create`/`run`: from --bundle's config.json or a default around --rootfs. */
export function buildSpec(id: string, o: SpecOptions): any {
  let spec: any;
  if (o.bundle) {
    const dir = resolve(o.bundle);
    try {
      spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    } catch (err) {
      throw new UsageError(`bundle ${dir}: ${(err as Error).message}`);
    }
    if (spec.root?.path && !isAbsolute(spec.root.path)) spec.root.path = join(dir, spec.root.path);
    spec.process ??= {};
    if (o.args.length) spec.process.args = o.args;
    spec.process.terminal = o.terminal;
  } else if (o.rootfs) {
    spec = defaultSpec(id, resolve(o.rootfs), o.args.length ? o.args : ['sh'], o.terminal);
  } else {
    throw new UsageError('give an IMAGE, --rootfs PATH or --bundle DIR');
  }
  if (o.env.length) spec.process.env = [...(spec.process.env ?? []), ...o.env];
  if (o.cwd) spec.process.cwd = o.cwd;
  if (o.readOnly) spec.root.readonly = true;
  return spec;
}
