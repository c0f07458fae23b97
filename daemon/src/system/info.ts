// Host facts for /version and /info, shaped as moby's types/system.Info and
// types.Version.
import { readFileSync } from 'node:fs';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { API_VERSION, MIN_API_VERSION } from '../api/version.js';

export const DAEMON_VERSION = process.env.BERTH_VERSION ?? '0.0.0-dev';
const COMMIT = process.env.BERTH_COMMIT ?? 'unknown';

export interface Counts {
  containers: number;
  running: number;
  paused: number;
  stopped: number;
  images: number;
}

export interface SystemConfig {
  id: string;
  dataRoot: string;
  runtime: string;
  liveRestore: boolean;
}

function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1]!;
  } catch {}
  return 'Linux';
}

function cgroupVersion(): '1' | '2' {
  try {
    readFileSync('/sys/fs/cgroup/cgroup.controllers');
    return '2';
  } catch {
    return '1';
  }
}

export class SystemService {
  private readonly started = Date.now();
  constructor(
    private readonly config: SystemConfig,
    private readonly counts: () => Promise<Counts>,
  ) {}

  version(): object {
    return {
      Platform: { Name: 'berth' },
      Components: [
        {
          Name: 'Engine',
          Version: DAEMON_VERSION,
          Details: {
            ApiVersion: API_VERSION,
            MinAPIVersion: MIN_API_VERSION,
            GitCommit: COMMIT,
            GoVersion: `node${process.versions.node}`,
            Os: 'linux',
            Arch: goArch(),
            KernelVersion: release(),
            BuildTime: new Date(this.started).toISOString(),
          },
        },
        { Name: 'berth-shimd', Version: DAEMON_VERSION, Details: { GitCommit: COMMIT } },
        { Name: this.config.runtime, Version: 'unknown', Details: { GitCommit: '' } },
      ],
      Version: DAEMON_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: COMMIT,
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: release(),
      BuildTime: new Date(this.started).toISOString(),
    };
  }

  async info(): Promise<object> {
    const c = await this.counts();
    const v = cgroupVersion();
    return {
      ID: this.config.id,
      Containers: c.containers,
      ContainersRunning: c.running,
      ContainersPaused: c.paused,
      ContainersStopped: c.stopped,
      Images: c.images,
      Driver: 'overlayfs',
      DriverStatus: [['driver-type', 'berth-shimd snapshotter']],
      Plugins: {
        Volume: ['local'],
        Network: ['bridge', 'host', 'null'],
        Authorization: null,
        Log: ['json-file'],
      },
      MemoryLimit: true,
      SwapLimit: v === '1',
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: readTrim('/proc/sys/net/ipv4/ip_forward') === '1',
      Debug: false,
      NFd: 0,
      OomKillDisable: false,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: v,
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: osName(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: arch() === 'x64' ? 'x86_64' : arch(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: {
        InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8'],
        IndexConfigs: {
          'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true },
        },
        Mirrors: null,
      },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: this.config.dataRoot,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: DAEMON_VERSION,
      Runtimes: { [this.config.runtime]: { path: this.config.runtime } },
      DefaultRuntime: this.config.runtime,
      Swarm: {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      },
      LiveRestoreEnabled: this.config.liveRestore,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: COMMIT },
      RuncCommit: { ID: '' },
      InitCommit: { ID: '' },
      SecurityOptions: ['name=seccomp,profile=builtin', `name=cgroupns`],
      Warnings: null,
    };
  }
}

function readTrim(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}
