// `spec` and `features`: the default config.json (the same shape `runc spec` writes)
// and what this runtime supports, in the runtime-spec features.md format.
import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS, type Spec } from 'oci-spec-types';
import { CAPABILITIES } from '../linux/capabilities.js';
import { MOUNT_OPTION_NAMES } from '../linux/mounts.js';

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function defaultSpec(opts: { rootless?: boolean } = {}): Spec {
  const spec: Spec = {
    ociVersion: '1.2.0',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS, ambient: CAPS },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'berth',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
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
  if (opts.rootless) {
    const linux = spec.linux!;
    linux.resources = undefined;
    linux.namespaces = linux.namespaces!.filter((n) => n.type !== 'network');
    linux.namespaces.push({ type: 'user' });
    linux.uidMappings = [{ containerID: 0, hostID: process.getuid?.() ?? 0, size: 1 }];
    linux.gidMappings = [{ containerID: 0, hostID: process.getgid?.() ?? 0, size: 1 }];
    const mounts = spec.mounts!;
    mounts[2].options = mounts[2].options!.filter((o) => o !== 'gid=5');
    mounts[5] = { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    delete (linux as any).resources;
  }
  return spec;
}

export function features(): object {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.2.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: MOUNT_OPTION_NAMES,
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts'],
      capabilities: CAPABILITIES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: SECCOMP_ACTIONS,
        operators: SECCOMP_OPERATORS,
        archs: SECCOMP_ARCHES.filter((a) => a !== 'SCMP_ARCH_LOONGARCH64'),
        knownFlags: SECCOMP_FLAGS,
        supportedFlags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: {
      'org.opencontainers.runtime.name': 'berth-runtime',
      'org.opencontainers.runtime.version': process.env.BERTH_VERSION ?? '0.0.0-dev',
    },
  };
}
