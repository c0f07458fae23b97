// `run`/`create` flags turned into the Engine API's create body (Config with
// HostConfig and NetworkingConfig), as the docker CLI builds it.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Options } from 'yargs';
import { CliError, toArray } from '../cli.js';
import { parseBytes } from '../format/units.js';
import { keyValues } from './common.js';
import { restartPolicy } from './container.js';

export const runOptions: Record<string, Options> = {
  attach: { alias: 'a', type: 'string', describe: 'Attach to STDIN, STDOUT or STDERR' },
  'add-host': { type: 'string', describe: 'Add a custom host-to-IP mapping (host:ip)' },
  'cap-add': { type: 'string', describe: 'Add Linux capabilities' },
  'cap-drop': { type: 'string', describe: 'Drop Linux capabilities' },
  'cgroupns': { type: 'string', describe: 'Cgroup namespace to use (host|private)' },
  cidfile: { type: 'string', describe: 'Write the container ID to the file' },
  'cpu-shares': { alias: 'c', type: 'number', describe: 'CPU shares (relative weight)' },
  cpus: { type: 'number', describe: 'Number of CPUs' },
  'cpuset-cpus': { type: 'string', describe: 'CPUs in which to allow execution (0-3, 0,1)' },
  detach: { alias: 'd', type: 'boolean', describe: 'Run container in background and print container ID' },
  'detach-keys': { type: 'string', describe: 'Override the key sequence for detaching a container' },
  device: { type: 'string', describe: 'Add a host device to the container' },
  dns: { type: 'string', describe: 'Set custom DNS servers' },
  'dns-option': { type: 'string', describe: 'Set DNS options' },
  'dns-search': { type: 'string', describe: 'Set custom DNS search domains' },
  entrypoint: { type: 'string', describe: 'Overwrite the default ENTRYPOINT of the image' },
  env: { alias: 'e', type: 'string', describe: 'Set environment variables' },
  'env-file': { type: 'string', describe: 'Read in a file of environment variables' },
  expose: { type: 'string', describe: 'Expose a port or a range of ports' },
  'group-add': { type: 'string', describe: 'Add additional groups to join' },
  hostname: { alias: 'h', type: 'string', describe: 'Container host name' },
  init: { type: 'boolean', describe: 'Run an init inside the container that forwards signals and reaps processes' },
  interactive: { alias: 'i', type: 'boolean', describe: 'Keep STDIN open even if not attached' },
  ipc: { type: 'string', describe: 'IPC mode to use' },
  label: { alias: 'l', type: 'string', describe: 'Set meta data on a container' },
  'log-driver': { type: 'string', describe: 'Logging driver for the container' },
  'log-opt': { type: 'string', describe: 'Log driver options' },
  memory: { alias: 'm', type: 'string', describe: 'Memory limit' },
  'memory-swap': { type: 'string', describe: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  mount: { type: 'string', describe: 'Attach a filesystem mount to the container' },
  name: { type: 'string', describe: 'Assign a name to the container' },
  network: { alias: 'net', type: 'string', describe: 'Connect a container to a network' },
  'network-alias': { type: 'string', describe: 'Add network-scoped alias for the container' },
  'oom-kill-disable': { type: 'boolean', describe: 'Disable OOM Killer' },
  pid: { type: 'string', describe: 'PID namespace to use' },
  'pids-limit': { type: 'number', describe: 'Tune container pids limit (set -1 for unlimited)' },
  platform: { type: 'string', describe: 'Set platform if server is multi-platform capable' },
  privileged: { type: 'boolean', describe: 'Give extended privileges to this container' },
  publish: { alias: 'p', type: 'string', describe: "Publish a container's port(s) to the host" },
  'publish-all': { alias: 'P', type: 'boolean', describe: 'Publish all exposed ports to random ports' },
  pull: { type: 'string', describe: 'Pull image before running ("always", "missing", "never")', default: 'missing' },
  quiet: { alias: 'q', type: 'boolean', describe: 'Suppress the pull output' },
  'read-only': { type: 'boolean', describe: "Mount the container's root filesystem as read only" },
  restart: { type: 'string', describe: 'Restart policy to apply when a container exits', default: 'no' },
  rm: { type: 'boolean', describe: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  'security-opt': { type: 'string', describe: 'Security Options' },
  'shm-size': { type: 'string', describe: 'Size of /dev/shm' },
  'sig-proxy': { type: 'boolean', describe: 'Proxy received signals to the process', default: true },
  'stop-signal': { type: 'string', describe: 'Signal to stop the container' },
  'stop-timeout': { type: 'number', describe: 'Timeout (in seconds) to stop a container' },
  sysctl: { type: 'string', describe: 'Sysctl options' },
  tmpfs: { type: 'string', describe: 'Mount a tmpfs directory' },
  tty: { alias: 't', type: 'boolean', describe: 'Allocate a pseudo-TTY' },
  user: { alias: 'u', type: 'string', describe: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  ulimit: { type: 'string', describe: 'Ulimit options' },
  userns: { type: 'string', describe: 'User namespace to use' },
  uts: { type: 'string', describe: 'UTS namespace to use' },
  volume: { alias: 'v', type: 'string', describe: 'Bind mount a volume' },
  'volumes-from': { type: 'string', describe: 'Mount volumes from the specified container(s)' },
  workdir: { alias: 'w', type: 'string', describe: 'Working directory inside the container' },
};

export interface CreateRequest {
  name?: string;
  platform?: string;
  body: Record<string, any>;
}

/** 80, 8080:80, 127.0.0.1:8080:80/udp, [::1]:8080:80, 8000-8001:80-81 → bindings. */
export function parsePublish(spec: string): Array<{ port: string; binding: { HostIp: string; HostPort: string } }> {
  let rest = spec;
  let proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash > rest.lastIndexOf(']')) {
    proto = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
  }
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new CliError(`invalid proto: ${proto}`, 125);
  let ip = '';
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (bracket) {
    ip = bracket[1];
    rest = bracket[2];
  }
  const parts = rest.split(':');
  let hostPart = '';
  let containerPart: string;
  if (parts.length === 1) containerPart = parts[0];
  else if (parts.length === 2) [hostPart, containerPart] = parts;
  else if (parts.length === 3 && !ip) [ip, hostPart, containerPart] = parts;
  else throw new CliError(`invalid publish spec: ${spec}`, 125);
  const range = (s: string) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(s);
    if (!m) throw new CliError(`invalid containerPort: ${s}`, 125);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    if (a < 1 || b > 65535 || b < a) throw new CliError(`invalid port range: ${s}`, 125);
    return [a, b];
  };
  const [c0, c1] = range(containerPart);
  const host = hostPart ? range(hostPart) : undefined;
  if (host && host[1] - host[0] !== c1 - c0 && host[0] !== host[1]) throw new CliError(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`, 125);
  const out = [];
  for (let p = c0; p <= c1; p++) {
    let hostPort = '';
    if (host) hostPort = host[0] === host[1] ? (c0 === c1 ? String(host[0]) : `${host[0]}`) : String(host[0] + (p - c0));
    out.push({ port: `${p}/${proto}`, binding: { HostIp: ip, HostPort: hostPort } });
  }
  return out;
}

function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`, 125);
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const l = line.replace(/^\s+/, '');
    if (!l || l.startsWith('#')) continue;
    if (l.includes('=')) out.push(l);
    else if (process.env[l] !== undefined) out.push(`${l}=${process.env[l]}`);
  }
  return out;
}

function parseMount(spec: string): Record<string, any> {
  const m: Record<string, any> = { Type: 'volume' };
  for (const field of spec.split(',')) {
    const [k, v = ''] = field.split('=');
    switch (k.trim().toLowerCase()) {
      case 'type':
        m.Type = v;
        break;
      case 'source':
      case 'src':
        m.Source = v;
        break;
      case 'target':
      case 'destination':
      case 'dst':
        m.Target = v;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = v === '' || v === 'true' || v === '1';
        break;
      case 'bind-propagation':
        m.BindOptions = { ...m.BindOptions, Propagation: v };
        break;
      case 'tmpfs-size':
        m.TmpfsOptions = { ...m.TmpfsOptions, SizeBytes: parseBytes(v) };
        break;
      case 'volume-nocopy':
        m.VolumeOptions = { ...m.VolumeOptions, NoCopy: v === '' || v === 'true' };
        break;
      default:
        throw new CliError(`invalid argument "${spec}" for "--mount" flag: unexpected key '${k}' in '${field}'`, 125);
    }
  }
  if (!m.Target) throw new CliError(`invalid argument "${spec}" for "--mount" flag: target is required`, 125);
  return m;
}

/** Builds the create request from parsed flags, the image and the command. */
export function buildCreate(a: Record<string, any>, image: string, cmd: string[]): CreateRequest {
  const env: string[] = [];
  for (const f of toArray(a.envFile)) env.push(...readEnvFile(f));
  for (const e of toArray(a.env)) {
    if (e.includes('=')) env.push(e);
    else if (process.env[e] !== undefined) env.push(`${e}=${process.env[e]}`);
  }
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of toArray(a.publish)) {
    for (const { port, binding } of parsePublish(p)) {
      exposed[port] = {};
      bindings[port] ??= [];
      bindings[port].push(binding);
    }
  }
  for (const e of toArray(a.expose)) {
    const [range, proto = 'tcp'] = e.split('/');
    const [lo, hi = lo] = range.split('-').map(Number);
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new CliError(`invalid range format for --expose: ${e}`, 125);
    for (let p = lo; p <= hi; p++) exposed[`${p}/${proto}`] = {};
  }
  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  for (const v of toArray(a.volume)) {
    const parts = v.split(':');
    if (parts.length === 1) {
      if (!isAbsolute(parts[0])) throw new CliError(`invalid volume specification: '${v}': invalid mount config for type "volume": invalid mount path: '${parts[0]}' mount path must be absolute`, 125);
      volumes[parts[0]] = {};
      continue;
    }
    if (parts.length > 3) throw new CliError(`invalid volume specification: '${v}'`, 125);
    let [src] = parts;
    if (src.startsWith('.') || src.startsWith('~')) src = resolve(src.replace(/^~/, process.env.HOME ?? '~'));
    if (!isAbsolute(parts[1])) throw new CliError(`invalid volume specification: '${v}': invalid mount config for type "bind": invalid mount path: '${parts[1]}' mount path must be absolute`, 125);
    binds.push([src, ...parts.slice(1)].join(':'));
  }
  const tmpfs: Record<string, string> = {};
  for (const t of toArray(a.tmpfs)) {
    const i = t.indexOf(':');
    if (i < 0) tmpfs[t] = '';
    else tmpfs[t.slice(0, i)] = t.slice(i + 1);
  }
  const ulimits = toArray(a.ulimit).map((u) => {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(u);
    if (!m) throw new CliError(`invalid argument "${u}" for "--ulimit" flag`, 125);
    return { Name: m[1], Soft: Number(m[2]), Hard: Number(m[3] ?? m[2]) };
  });
  const devices = toArray(a.device).map((d) => {
    const [host, container = host, perms = 'rwm'] = d.split(':');
    return { PathOnHost: host, PathInContainer: container, CgroupPermissions: perms };
  });
  const attach = toArray(a.attach).map((s) => s.toLowerCase());
  for (const s of attach) if (!['stdin', 'stdout', 'stderr'].includes(s)) throw new CliError(`invalid argument "${s}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`, 125);
  const detached = Boolean(a.detach);
  if (detached && attach.length) throw new CliError('Conflicting options: -a and -d', 125);
  const attachStdin = detached ? false : attach.length ? attach.includes('stdin') : Boolean(a.interactive);
  const attachStdout = detached ? false : attach.length ? attach.includes('stdout') : true;
  const attachStderr = detached ? false : attach.length ? attach.includes('stderr') : true;
  const network: string | undefined = a.network;
  const aliases = toArray(a.networkAlias);
  const hostConfig: Record<string, any> = {
    Binds: binds.length ? binds : undefined,
    NetworkMode: network ?? 'bridge',
    PortBindings: Object.keys(bindings).length ? bindings : undefined,
    PublishAllPorts: Boolean(a.publishAll),
    RestartPolicy: restartPolicy(a.restart ?? 'no'),
    AutoRemove: Boolean(a.rm),
    Privileged: Boolean(a.privileged),
    ReadonlyRootfs: Boolean(a.readOnly),
    CapAdd: toArray(a.capAdd).length ? toArray(a.capAdd) : undefined,
    CapDrop: toArray(a.capDrop).length ? toArray(a.capDrop) : undefined,
    Dns: toArray(a.dns),
    DnsOptions: toArray(a.dnsOption),
    DnsSearch: toArray(a.dnsSearch),
    ExtraHosts: toArray(a.addHost).length ? toArray(a.addHost) : undefined,
    GroupAdd: toArray(a.groupAdd).length ? toArray(a.groupAdd) : undefined,
    SecurityOpt: toArray(a.securityOpt).length ? toArray(a.securityOpt) : undefined,
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    Mounts: toArray(a.mount).length ? toArray(a.mount).map(parseMount) : undefined,
    VolumesFrom: toArray(a.volumesFrom).length ? toArray(a.volumesFrom) : undefined,
    Init: a.init ? true : undefined,
    IpcMode: a.ipc,
    PidMode: a.pid,
    UTSMode: a.uts,
    UsernsMode: a.userns,
    CgroupnsMode: a.cgroupns,
    Sysctls: toArray(a.sysctl).length ? keyValues(a.sysctl) : undefined,
    ShmSize: a.shmSize ? parseBytes(a.shmSize) : undefined,
    LogConfig: a.logDriver || a.logOpt ? { Type: a.logDriver ?? '', Config: keyValues(a.logOpt) } : undefined,
    Memory: a.memory ? parseBytes(a.memory) : undefined,
    MemorySwap: a.memorySwap ? (a.memorySwap === '-1' ? -1 : parseBytes(a.memorySwap)) : undefined,
    NanoCpus: a.cpus !== undefined ? Math.round(a.cpus * 1e9) : undefined,
    CpuShares: a.cpuShares,
    CpusetCpus: a.cpusetCpus,
    PidsLimit: a.pidsLimit,
    OomKillDisable: a.oomKillDisable ? true : undefined,
    Ulimits: ulimits.length ? ulimits : undefined,
    Devices: devices.length ? devices : undefined,
  };
  const tty = Boolean(a.tty);
  const body: Record<string, any> = {
    Hostname: a.hostname ?? '',
    User: a.user ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Tty: tty,
    OpenStdin: Boolean(a.interactive),
    StdinOnce: Boolean(a.interactive) && !detached,
    Env: env,
    Cmd: cmd.length ? cmd : undefined,
    Image: image,
    Volumes: Object.keys(volumes).length ? volumes : undefined,
    WorkingDir: a.workdir ?? '',
    Entrypoint: a.entrypoint !== undefined ? (a.entrypoint === '' ? [''] : [a.entrypoint]) : undefined,
    Labels: keyValues(a.label),
    StopSignal: a.stopSignal,
    StopTimeout: a.stopTimeout,
    HostConfig: hostConfig,
    NetworkingConfig: network && aliases.length ? { EndpointsConfig: { [network]: { Aliases: aliases } } } : undefined,
  };
  if (a.rm && a.restart && a.restart !== 'no') throw new CliError('Conflicting options: --restart and --rm', 125);
  if (a.stopTimeout !== undefined && !Number.isInteger(a.stopTimeout)) throw new CliError('invalid --stop-timeout', 125);
  // Drop undefined fields so the request shows only what was asked for.
  for (const o of [body, hostConfig]) for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return { name: a.name, platform: a.platform, body };
}

