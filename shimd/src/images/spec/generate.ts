// A runtime spec (config.json) from an image config, with defaults like containerd's
// (oci/spec.go populateDefaultUnixSpec): the Docker default capability set, masked and
// read-only /proc and /sys paths, the usual /dev, /proc, /sys mounts and namespaces.
import { DEFAULT_CAPABILITIES, DEFAULT_READONLY_PATHS } from 'oci-spec-types';
import type { ImageConfig } from '../digest.js';
import { invalidArgument } from '../errors.js';

export interface SpecOverrides {
  /** Replaces the image's Cmd (the image's Entrypoint stays, as with `docker run IMAGE args`). */
  args?: string[];
  /** Replaces the image's Entrypoint (and drops Cmd unless args are given). */
  entrypoint?: string[];
  /** KEY=VALUE entries added to (or replacing those in) the image's Env. */
  env?: string[];
  cwd?: string;
  /** `uid`, `uid:gid`, `name`, `name:group`. */
  user?: string;
  terminal?: boolean;
  hostname?: string;
  /** Root path in the bundle (default `rootfs`). */
  rootfs?: string;
  readonlyRootfs?: boolean;
  /** Extra annotations. */
  annotations?: Record<string, string>;
}

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export { DEFAULT_CAPABILITIES, DEFAULT_READONLY_PATHS };

export const DEFAULT_MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
  '/proc/scsi',
];


export function defaultMounts(): Array<{ destination: string; type: string; source: string; options: string[] }> {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  ];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  if (!text) return [];
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && !f[0].startsWith('#'))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]) }));
}

function parseGroup(text: string | undefined): Array<{ name: string; gid: number; members: string[] }> {
  if (!text) return [];
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3 && !f[0].startsWith('#'))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

const NUM = /^[0-9]+$/;

/** Resolves a user string as runc/docker do, against the image's /etc/passwd and /etc/group. */
export function resolveUser(user: string | undefined, passwd: string | undefined, group: string | undefined): ResolvedUser {
  const spec = user?.trim() || '0';
  const [u, g] = spec.split(':', 2);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  let uid: number;
  let gid: number;
  let name: string | undefined;
  if (NUM.test(u)) {
    uid = Number(u);
    const e = users.find((x) => x.uid === uid);
    gid = e?.gid ?? 0;
    name = e?.name;
  } else {
    const e = users.find((x) => x.name === u);
    if (!e) throw invalidArgument(`unable to find user ${u}: no matching entries in passwd file`);
    uid = e.uid;
    gid = e.gid;
    name = e.name;
  }
  if (g !== undefined && g !== '') {
    if (NUM.test(g)) gid = Number(g);
    else {
      const e = groups.find((x) => x.name === g);
      if (!e) throw invalidArgument(`unable to find group ${g}: no matching entries in group file`);
      gid = e.gid;
    }
  }
  const additional = name ? groups.filter((x) => x.members.includes(name!) && x.gid !== gid).map((x) => x.gid) : [];
  return { uid, gid, ...(additional.length ? { additionalGids: additional } : {}) };
}

function mergeEnv(base: string[], extra: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...extra]) {
    const k = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
    out.set(k, e);
  }
  return [...out.values()];
}

export interface SpecInput {
  config: ImageConfig;
  /** Container id (for the cgroup path). */
  id: string;
  namespace: string;
  imageName?: string;
  /** Reads a file from the image's root filesystem (undefined if absent). */
  readFile: (path: string) => string | undefined;
  overrides?: SpecOverrides;
}

export function generateSpec(input: SpecInput): Record<string, unknown> {
  const o = input.overrides ?? {};
  const c = input.config.config ?? {};
  let args: string[];
  if (o.entrypoint) args = [...o.entrypoint, ...(o.args ?? [])];
  else args = [...(c.Entrypoint ?? []), ...(o.args ?? c.Cmd ?? [])];
  if (args.length === 0) throw invalidArgument('no command specified: the image has no Entrypoint or Cmd and none was given');
  let env = mergeEnv(c.Env ?? [], o.env ?? []);
  if (!env.some((e) => e.startsWith('PATH='))) env = [DEFAULT_PATH, ...env];
  if (o.terminal && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  const user = resolveUser(o.user ?? c.User, input.readFile('/etc/passwd'), input.readFile('/etc/group'));
  const caps = [...DEFAULT_CAPABILITIES];
  const annotations: Record<string, string> = { ...(c.Labels ?? {}) };
  if (input.imageName) annotations['io.containerd.image.name'] = input.imageName;
  if (c.StopSignal) annotations['org.opencontainers.image.stopSignal'] = c.StopSignal;
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length) annotations['org.opencontainers.image.exposedPorts'] = Object.keys(c.ExposedPorts).sort().join(',');
  if (c.Volumes && Object.keys(c.Volumes).length) annotations['berth.io/image.volumes'] = Object.keys(c.Volumes).sort().join(',');
  Object.assign(annotations, o.annotations ?? {});
  return {
    ociVersion: '1.1.0',
    process: {
      terminal: o.terminal ?? false,
      user,
      args,
      env,
      cwd: o.cwd || c.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: false,
    },
    root: { path: o.rootfs ?? 'rootfs', readonly: o.readonlyRootfs ?? false },
    ...(o.hostname ? { hostname: o.hostname } : {}),
    mounts: defaultMounts(),
    annotations,
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      // Under /berth/<namespace>, as berth-shimd places containers (it removes that parent with the namespace).
      cgroupsPath: `/berth/${input.namespace}/${input.id}`,
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      maskedPaths: DEFAULT_MASKED_PATHS,
      readonlyPaths: DEFAULT_READONLY_PATHS,
    },
  };
}
