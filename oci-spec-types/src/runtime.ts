// Types for the OCI runtime-spec (v1.2): the bundle's config.json and the state
// document a runtime prints for `state`. Field names and optionality follow
// config.md, config-linux.md and runtime.md; every interface also admits unknown
// extra fields, since the spec requires runtimes to ignore properties they do not know.

/** The version of the runtime-spec these types describe. */
export const OCI_RUNTIME_SPEC_VERSION = '1.2.0';

type Extra = { [extension: string]: unknown };

export interface Spec extends Extra {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Root extends Extra {
  /** Path to the rootfs, absolute or relative to the bundle. */
  path: string;
  readonly?: boolean;
}

export interface Mount extends Extra {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
}

export interface Process extends Extra {
  terminal?: boolean;
  consoleSize?: ConsoleSize;
  user: User;
  args?: string[];
  /** Windows only: the whole command line as one string. */
  commandLine?: string;
  env?: string[];
  /** Absolute path inside the container. */
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  ioPriority?: LinuxIOPriority;
  scheduler?: LinuxScheduler;
  execCPUAffinity?: CPUAffinity;
}

export interface ConsoleSize extends Extra {
  height: number;
  width: number;
}

export interface User extends Extra {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  /** Windows only. */
  username?: string;
}

export interface LinuxCapabilities extends Extra {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface POSIXRlimit extends Extra {
  /** `RLIMIT_NOFILE` etc. */
  type: string;
  hard: number;
  soft: number;
}

export const IO_PRIORITY_CLASSES = ['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE'] as const;
export type IOPriorityClass = (typeof IO_PRIORITY_CLASSES)[number];

export interface LinuxIOPriority extends Extra {
  class: IOPriorityClass;
  priority?: number;
}

export const SCHEDULER_POLICIES = [
  'SCHED_OTHER',
  'SCHED_FIFO',
  'SCHED_RR',
  'SCHED_BATCH',
  'SCHED_ISO',
  'SCHED_IDLE',
  'SCHED_DEADLINE',
] as const;
export type SchedulerPolicy = (typeof SCHEDULER_POLICIES)[number];

export const SCHEDULER_FLAGS = [
  'SCHED_FLAG_RESET_ON_FORK',
  'SCHED_FLAG_RECLAIM',
  'SCHED_FLAG_DL_OVERRUN',
  'SCHED_FLAG_KEEP_POLICY',
  'SCHED_FLAG_KEEP_PARAMS',
  'SCHED_FLAG_UTIL_CLAMP_MIN',
  'SCHED_FLAG_UTIL_CLAMP_MAX',
] as const;
export type SchedulerFlag = (typeof SCHEDULER_FLAGS)[number];

export interface LinuxScheduler extends Extra {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: SchedulerFlag[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

export interface CPUAffinity extends Extra {
  initial?: string;
  final?: string;
}

export interface Hook extends Extra {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Hooks extends Extra {
  /** Deprecated in favour of createRuntime/createContainer/startContainer. */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type LinuxNamespaceType = (typeof NAMESPACE_TYPES)[number];

export interface LinuxNamespace extends Extra {
  type: LinuxNamespaceType;
  path?: string;
}

export interface LinuxIDMapping extends Extra {
  containerID: number;
  hostID: number;
  size: number;
}

export interface LinuxTimeOffset extends Extra {
  secs?: number;
  nanosecs?: number;
}

export interface LinuxDevice extends Extra {
  path: string;
  /** `c`, `b`, `u` or `p`. */
  type: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface LinuxDeviceCgroup extends Extra {
  allow: boolean;
  /** `a`, `c` or `b`. */
  type?: string;
  major?: number | null;
  minor?: number | null;
  /** Any of `r`, `w`, `m`. */
  access?: string;
}

export interface LinuxMemory extends Extra {
  limit?: number;
  reservation?: number;
  swap?: number;
  /** Deprecated by the kernel; still accepted. */
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU extends Extra {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxBlockIODevice extends Extra {
  major: number;
  minor: number;
}

export interface LinuxWeightDevice extends LinuxBlockIODevice {
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice extends LinuxBlockIODevice {
  rate: number;
}

export interface LinuxBlockIO extends Extra {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit extends Extra {
  /** `2MB`, `1GB`... */
  pageSize: string;
  limit: number;
}

export interface LinuxInterfacePriority extends Extra {
  name: string;
  priority: number;
}

export interface LinuxNetwork extends Extra {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxPids extends Extra {
  limit: number;
}

export interface LinuxRdma extends Extra {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface LinuxResources extends Extra {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  /** Keyed by RDMA device name. */
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 file name → value, written as-is. */
  unified?: Record<string, string>;
}

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export type LinuxSeccompAction = (typeof SECCOMP_ACTIONS)[number];

export const SECCOMP_OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type LinuxSeccompOperator = (typeof SECCOMP_OPERATORS)[number];

export const SECCOMP_ARCHES = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
] as const;
export type LinuxSeccompArch = (typeof SECCOMP_ARCHES)[number];

export const SECCOMP_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;
export type LinuxSeccompFlag = (typeof SECCOMP_FLAGS)[number];

export interface LinuxSeccompArg extends Extra {
  index: number;
  value: number;
  valueTwo?: number;
  op: LinuxSeccompOperator;
}

export interface LinuxSyscall extends Extra {
  names: string[];
  action: LinuxSeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccomp extends Extra {
  defaultAction: LinuxSeccompAction;
  defaultErrnoRet?: number;
  architectures?: LinuxSeccompArch[];
  flags?: LinuxSeccompFlag[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export const ROOTFS_PROPAGATIONS = ['private', 'shared', 'slave', 'unbindable', 'rprivate', 'rshared', 'rslave', 'runbindable'] as const;
export type RootfsPropagation = (typeof ROOTFS_PROPAGATIONS)[number];

export const PERSONALITY_DOMAINS = ['LINUX', 'LINUX32'] as const;
export type LinuxPersonalityDomain = (typeof PERSONALITY_DOMAINS)[number];

export interface LinuxPersonality extends Extra {
  domain: LinuxPersonalityDomain;
  flags?: string[];
}

export interface LinuxIntelRdt extends Extra {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  schemata?: string[];
  enableMonitoring?: boolean;
  enableCMT?: boolean;
  enableMBM?: boolean;
}

export interface LinuxNetDevice extends Extra {
  name?: string;
}

export interface LinuxMemoryPolicy extends Extra {
  mode: string;
  nodes?: string;
  flags?: string[];
}

export interface Linux extends Extra {
  namespaces?: LinuxNamespace[];
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
  /** Keyed by clock: `monotonic`, `boottime`. */
  timeOffsets?: Record<string, LinuxTimeOffset>;
  devices?: LinuxDevice[];
  netDevices?: Record<string, LinuxNetDevice>;
  cgroupsPath?: string;
  resources?: LinuxResources;
  sysctl?: Record<string, string>;
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: RootfsPropagation;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  personality?: LinuxPersonality;
  intelRdt?: LinuxIntelRdt;
  memoryPolicy?: LinuxMemoryPolicy;
}

export const CONTAINER_STATUSES = ['creating', 'created', 'running', 'stopped'] as const;
/** runtime.md's statuses; `paused` is the runc extension that runtimes report too. */
export type ContainerStatus = (typeof CONTAINER_STATUSES)[number] | 'paused';

/** The state document (runtime.md "State"). */
export interface State extends Extra {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** Present when status is created or running. */
  pid?: number;
  /** Absolute path to the bundle. */
  bundle: string;
  annotations?: Record<string, string>;
}
