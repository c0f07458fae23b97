import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MediaType,
  SpecValidationError,
  isDigest,
  validateDescriptor,
  validateImageConfig,
  validateImageIndex,
  validateImageLayout,
  validateImageManifest,
  validateSpec,
  validateState,
} from './index.js';

const hasRunc = (() => {
  try {
    execFileSync('runc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function runcSpec(...args: string[]): any {
  const dir = mkdtempSync(join(tmpdir(), 'ocispec-'));
  try {
    execFileSync('runc', ['spec', ...args], { cwd: dir });
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function minimal(): any {
  return {
    ociVersion: '1.2.0',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    root: { path: 'rootfs' },
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] },
  };
}

/** Runs fn, expects a SpecValidationError, returns it. */
function fails(fn: () => unknown): SpecValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SpecValidationError);
    return e as SpecValidationError;
  }
  throw new Error('expected a SpecValidationError');
}

const sha = (c: string) => `sha256:${c.repeat(64)}`;

describe('validateSpec', () => {
  it.skipIf(!hasRunc)('accepts `runc spec` and `runc spec --rootless` output unchanged', () => {
    for (const doc of [runcSpec(), runcSpec('--rootless')]) {
      const spec = validateSpec(doc);
      expect(spec).toEqual(doc);
      expect(spec.linux?.namespaces?.map((n) => n.type)).toContain('mount');
    }
  });

  it('accepts a document using every section and keeps unknown fields', () => {
    const doc = minimal();
    doc.futureField = { x: 1 };
    doc.process = {
      terminal: true,
      consoleSize: { height: 24, width: 80 },
      user: { uid: 1000, gid: 1000, umask: 0o22, additionalGids: [5, 6] },
      args: ['sh', '-c', 'true'],
      env: ['PATH=/bin', 'EMPTY='],
      cwd: '/work',
      capabilities: { bounding: ['CAP_KILL'], effective: [], inheritable: [], permitted: ['CAP_KILL'], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
      apparmorProfile: 'p',
      oomScoreAdj: -500,
      selinuxLabel: 'l',
      ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
      scheduler: { policy: 'SCHED_DEADLINE', runtime: 1, deadline: 2, period: 3, flags: ['SCHED_FLAG_RECLAIM'] },
      vendorExt: true,
    };
    doc.hostname = 'h';
    doc.domainname = 'd';
    doc.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/data', type: 'bind', source: '/srv', options: ['rbind', 'ro'] }];
    const hook = [{ path: '/bin/hook', args: ['hook', 'x'], env: ['A=b'], timeout: 5 }];
    doc.hooks = { prestart: hook, createRuntime: hook, createContainer: hook, startContainer: hook, poststart: hook, poststop: hook };
    doc.annotations = { 'org.example.key': 'v' };
    doc.linux = {
      namespaces: [{ type: 'pid' }, { type: 'network', path: '/proc/1/ns/net' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'user' }, { type: 'cgroup' }, { type: 'time' }],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      timeOffsets: { monotonic: { secs: 10, nanosecs: 5 } },
      devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }],
      cgroupsPath: '/berth/x',
      resources: {
        devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }],
        memory: { limit: 1 << 26, reservation: 1 << 25, swap: -1, kernel: 0, kernelTCP: 0, swappiness: 10, disableOOMKiller: false, useHierarchy: true },
        cpu: { shares: 512, quota: 50000, period: 100000, realtimeRuntime: 0, realtimePeriod: 0, cpus: '0-1', mems: '0', idle: 0 },
        pids: { limit: 64 },
        blockIO: {
          weight: 500,
          leafWeight: 300,
          weightDevice: [{ major: 8, minor: 0, weight: 100 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
          throttleWriteBpsDevice: [],
          throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
          throttleWriteIOPSDevice: [],
        },
        hugepageLimits: [{ pageSize: '2MB', limit: 1 << 21 }],
        network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }] },
        rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 1000 } },
        unified: { 'memory.high': '1000000' },
      },
      sysctl: { 'net.ipv4.ip_forward': '1' },
      seccomp: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
        flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
        listenerPath: '/run/seccomp.sock',
        listenerMetadata: 'm',
        syscalls: [
          { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
          { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xffffffff, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
          { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' },
          { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS' },
          { names: ['uname'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        ],
      },
      rootfsPropagation: 'rslave',
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      mountLabel: 'label',
      personality: { domain: 'LINUX32', flags: [] },
      intelRdt: { closID: 'c', l3CacheSchema: 'L3:0=ff', memBwSchema: 'MB:0=50', enableMonitoring: true },
    };
    const spec = validateSpec(doc);
    expect(spec.futureField).toEqual({ x: 1 });
    expect(spec.process?.vendorExt).toBe(true);
    expect(spec.linux?.resources?.memory?.limit).toBe(1 << 26);
  });

  it('accepts a uint64 seccomp value beyond 2^53 (JSON numbers are doubles)', () => {
    const doc = validateSpec(JSON.parse(
      '{"ociVersion":"1.2.0","linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}}}',
    ));
    expect(doc.linux?.seccomp?.syscalls?.[0]?.args?.[0]?.value).toBe(2 ** 64);
  });

  it('names an unknown namespace type with its index and the allowed values', () => {
    const doc = minimal();
    doc.linux.namespaces.push({ type: 'foo' });
    const e = fails(() => validateSpec(doc));
    expect(e.path).toBe('linux.namespaces[2].type');
    expect(e.message).toBe('linux.namespaces[2].type: invalid value "foo" (expected one of pid, network, mount, ipc, uts, user, cgroup, time)');
  });

  it('rejects a namespace type given twice', () => {
    const doc = minimal();
    doc.linux.namespaces.push({ type: 'pid' });
    const e = fails(() => validateSpec(doc));
    expect(e.path).toBe('linux.namespaces[2].type');
    expect(e.message).toContain('duplicate namespace type "pid"');
  });

  it('reports a field of the wrong type with what was found', () => {
    const doc = minimal();
    doc.process.args = 'sh';
    const e = fails(() => validateSpec(doc));
    expect(e.path).toBe('process.args');
    expect(e.message).toBe('process.args: expected array, got string "sh"');
  });

  it('requires at least one arg when there is a process', () => {
    const doc = minimal();
    doc.process.args = [];
    expect(fails(() => validateSpec(doc)).path).toBe('process.args');
  });

  it('requires ociVersion, root.path, an absolute process.cwd and the user', () => {
    const noVersion = minimal();
    delete noVersion.ociVersion;
    let e = fails(() => validateSpec(noVersion));
    expect(e.path).toBe('ociVersion');
    expect(e.message).toBe('ociVersion: required field missing (expected string)');

    const noRootPath = minimal();
    noRootPath.root = { readonly: true };
    expect(fails(() => validateSpec(noRootPath)).path).toBe('root.path');

    const relCwd = minimal();
    relCwd.process.cwd = 'work';
    e = fails(() => validateSpec(relCwd));
    expect(e.path).toBe('process.cwd');
    expect(e.message).toBe('process.cwd: invalid value "work" (expected an absolute path)');

    const noUser = minimal();
    delete noUser.process.user;
    expect(fails(() => validateSpec(noUser)).path).toBe('process.user');
  });

  it('reports the first bad field when several are wrong', () => {
    const doc = minimal();
    doc.process.cwd = 3;
    doc.linux.namespaces[0].type = 'bogus';
    expect(fails(() => validateSpec(doc)).path).toBe('process.cwd');
  });

  it('checks mount entries, hooks, devices, rlimits, seccomp and resources', () => {
    const cases: [(d: any) => void, string, RegExp?][] = [
      [(d) => (d.mounts = [{ destination: '/proc', type: 'proc' }, { type: 'bind', source: '/x' }]), 'mounts[1].destination', /required field missing/],
      [(d) => (d.mounts = [{ destination: '/x', options: ['ro', 1] }]), 'mounts[0].options[1]', /expected string, got number 1/],
      [(d) => (d.hooks = { poststop: [{ path: 'relative/hook' }] }), 'hooks.poststop[0].path', /absolute path/],
      [(d) => (d.linux.devices = [{ path: '/dev/x', type: 'z' }]), 'linux.devices[0].type', /expected one of c, b, u, p/],
      [(d) => (d.process.rlimits = [{ type: 'NOFILE', hard: 1, soft: 1 }]), 'process.rlimits[0].type', /RLIMIT_/],
      [(d) => (d.process.user.uid = -1), 'process.user.uid', /non-negative integer/],
      [(d) => (d.process.user.gid = 1.5), 'process.user.gid', /invalid value 1.5/],
      [(d) => (d.linux.seccomp = { defaultAction: 'SCMP_ACT_NOPE' }), 'linux.seccomp.defaultAction', /expected one of SCMP_ACT_KILL,/],
      [(d) => (d.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_X'] }), 'linux.seccomp.flags[0]'],
      [(d) => (d.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'EQ' }] }] }), 'linux.seccomp.syscalls[0].args[0].op'],
      [(d) => (d.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] }), 'linux.seccomp.syscalls[0].names'],
      [(d) => (d.linux.resources = { memory: { limit: '1g' } }), 'linux.resources.memory.limit'],
      [(d) => (d.linux.resources = { pids: {} }), 'linux.resources.pids.limit'],
      [(d) => (d.linux.resources = { devices: [{ allow: true, access: 'rwx' }] }), 'linux.resources.devices[0].access'],
      [(d) => (d.linux.resources = { unified: { 'memory.max': 5 } }), 'linux.resources.unified["memory.max"]'],
      [(d) => (d.linux.rootfsPropagation = 'sideways'), 'linux.rootfsPropagation'],
      [(d) => (d.linux.personality = { domain: 'BSD' }), 'linux.personality.domain'],
      [(d) => (d.process.ioPriority = { class: 'IOPRIO_CLASS_X' }), 'process.ioPriority.class'],
      [(d) => (d.process.scheduler = { policy: 'SCHED_FAST' }), 'process.scheduler.policy'],
      [(d) => (d.process.env = ['NOEQUALS']), 'process.env[0]'],
      [(d) => (d.annotations = { a: 1 }), 'annotations.a'],
      [(d) => (d.ociVersion = 'one'), 'ociVersion', /SemVer/],
    ];
    for (const [mutate, path, message] of cases) {
      const doc = minimal();
      mutate(doc);
      const e = fails(() => validateSpec(doc));
      expect(e.path, path).toBe(path);
      expect(e.message.startsWith(`${path}: `)).toBe(true);
      if (message) expect(e.message).toMatch(message);
    }
  });

  it('rejects a document that is not an object', () => {
    for (const doc of [null, 'x', [], 3]) {
      const e = fails(() => validateSpec(doc));
      expect(e.path).toBe('');
      expect(e.message).toMatch(/^config.json: expected object/);
    }
  });
});

describe('validateState', () => {
  it('accepts the state runc prints and rejects a bad status', () => {
    const state = { ociVersion: '1.0.2', id: 'c1', pid: 42, status: 'running', bundle: '/b', rootfs: '/b/rootfs', created: '2024-01-01T00:00:00Z', owner: '' };
    expect(validateState(state)).toEqual(state);
    expect(validateState({ ...state, status: 'paused' }).status).toBe('paused');
    const e = fails(() => validateState({ ...state, status: 'sleeping' }));
    expect(e.path).toBe('status');
    expect(e.message).toContain('expected one of creating, created, running, stopped, paused');
    expect(fails(() => validateState({ ...state, bundle: 'rel' })).path).toBe('bundle');
    expect(fails(() => validateState({ ...state, id: undefined })).path).toBe('id');
  });
});

describe('image spec', () => {
  const desc = (mediaType: string, c = 'a') => ({ mediaType, digest: sha(c), size: 10 });

  it('checks digests', () => {
    expect(isDigest(sha('a'))).toBe(true);
    expect(isDigest(`sha512:${'b'.repeat(128)}`)).toBe(true);
    expect(isDigest('multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8')).toBe(true);
    expect(isDigest('sha256:abc')).toBe(false);
    expect(isDigest(`sha256:${'A'.repeat(64)}`)).toBe(false);
    expect(isDigest('nocolon')).toBe(false);
    expect(isDigest(`:${'a'.repeat(64)}`)).toBe(false);
  });

  it('validates descriptors', () => {
    const d = { ...desc(MediaType.LayerGzip), platform: { architecture: 'amd64', os: 'linux' }, annotations: { k: 'v' } };
    expect(validateDescriptor(d)).toEqual(d);
    const e = fails(() => validateDescriptor({ ...d, digest: 'sha256:xyz' }));
    expect(e.path).toBe('digest');
    expect(e.message).toBe('digest: invalid value "sha256:xyz" (expected a digest algorithm:encoded, e.g. sha256:<64 hex digits>)');
    expect(fails(() => validateDescriptor({ ...d, size: -1 })).path).toBe('size');
    expect(fails(() => validateDescriptor({ ...d, mediaType: 'nonsense' })).path).toBe('mediaType');
    expect(fails(() => validateDescriptor({ ...d, platform: { os: 'linux' } })).path).toBe('platform.architecture');
  });

  it('validates an index and a Docker manifest list', () => {
    const index = { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [{ ...desc(MediaType.ImageManifest), annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] };
    expect(validateImageIndex(index)).toEqual(index);
    const list = { schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [{ ...desc(MediaType.DockerManifest), platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }] };
    expect(validateImageIndex(list).manifests[0]!.platform?.variant).toBe('v8');
    const e = fails(() => validateImageIndex({ ...index, schemaVersion: 1 }));
    expect(e.path).toBe('schemaVersion');
    expect(e.message).toBe('schemaVersion: invalid value 1 (expected 2)');
    expect(fails(() => validateImageIndex({ ...index, manifests: [{ ...index.manifests[0], digest: 'sha256:00' }] })).path).toBe('manifests[0].digest');
  });

  it('validates OCI and Docker manifests', () => {
    const m = { schemaVersion: 2, mediaType: MediaType.ImageManifest, config: desc(MediaType.ImageConfig, 'c'), layers: [desc(MediaType.LayerGzip, 'd')] };
    expect(validateImageManifest(m)).toEqual(m);
    const docker = { schemaVersion: 2, mediaType: MediaType.DockerManifest, config: desc(MediaType.DockerImageConfig), layers: [desc(MediaType.DockerLayerGzip)] };
    expect(validateImageManifest(docker).layers).toHaveLength(1);
    expect(fails(() => validateImageManifest({ ...m, config: undefined })).path).toBe('config');
    expect(fails(() => validateImageManifest({ ...m, layers: [{ ...m.layers[0], size: '10' }] })).message).toBe('layers[0].size: expected number, got string "10"');
  });

  it('validates image configs, Docker nulls included', () => {
    const cfg = {
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'], Entrypoint: null, ExposedPorts: { '80/tcp': {} }, Labels: null, WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [sha('e')] },
      history: [{ created_by: 'ADD rootfs /', empty_layer: false }],
      container_config: { Hostname: 'x' },
    };
    expect(validateImageConfig(cfg)).toEqual(cfg);
    expect(fails(() => validateImageConfig({ ...cfg, rootfs: { type: 'tarball', diff_ids: [] } })).path).toBe('rootfs.type');
    expect(fails(() => validateImageConfig({ ...cfg, rootfs: { type: 'layers', diff_ids: ['bad'] } })).path).toBe('rootfs.diff_ids[0]');
    expect(fails(() => validateImageConfig({ ...cfg, config: { Cmd: 'sh' } })).path).toBe('config.Cmd');
    expect(fails(() => validateImageConfig({ ...cfg, os: undefined })).path).toBe('os');
  });

  it('validates the oci-layout file', () => {
    expect(validateImageLayout({ imageLayoutVersion: '1.0.0' }).imageLayoutVersion).toBe('1.0.0');
    expect(fails(() => validateImageLayout({})).path).toBe('imageLayoutVersion');
  });
});
