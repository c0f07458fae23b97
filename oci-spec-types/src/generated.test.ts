// The generated validators (generated/validators.js) stand in for the zod schemas on
// every valid document, so they must be current and must accept exactly what zod
// accepts. A validator stricter than zod only costs time (zod then accepts the
// document); one looser than zod would let a bad config.json through.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateValidators, type ValidatorName, zodSchemas } from './generate.js';
import { descriptor, imageConfig, imageIndex, imageLayout, imageManifest, spec, state } from './generated/validators.js';
import { digestPattern, isDigest } from './schemas.js';

const compiled = { spec, state, descriptor, imageIndex, imageManifest, imageConfig, imageLayout };
const sha = (c: string) => `sha256:${c.repeat(64)}`;

it('the committed generated/validators.{js,d.ts} are current with schemas.ts', () => {
  const { js, dts } = generateValidators();
  const dir = join(import.meta.dirname, 'generated');
  const hint = 'out of date: run `pnpm --filter oci-spec-types generate`';
  expect(readFileSync(join(dir, 'validators.js'), 'utf8') === js, hint).toBe(true);
  expect(readFileSync(join(dir, 'validators.d.ts'), 'utf8') === dts, hint).toBe(true);
});

it('the digest pattern given to JSON Schema is isDigest', () => {
  const samples = [
    sha('a'),
    sha('A'),
    `sha256:${'a'.repeat(63)}`,
    `sha512:${'b'.repeat(128)}`,
    `sha512:${'b'.repeat(64)}`,
    'sha384:abc',
    'multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8',
    'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564',
    'sha256',
    ':abc',
    'a:',
    'A:b',
    'a..b:c',
    'a.b:c=',
    'nocolon',
    `sha256:${'a'.repeat(64)}\n`,
    `x sha256:${'a'.repeat(64)}`,
  ];
  const re = digestPattern();
  for (const s of samples) expect(re.test(s), s).toBe(isDigest(s));
});

// Good documents of each kind, touching as many schema branches as possible.
function goodDocuments(): Record<ValidatorName, unknown[]> {
  const hook = [{ path: '/bin/hook', args: ['hook'], env: ['A=b'], timeout: 5 }];
  const full = {
    ociVersion: '1.2.0',
    process: {
      terminal: false,
      consoleSize: { height: 24, width: 80 },
      user: { uid: 0, gid: 0, umask: 18, additionalGids: [1, 2], username: 'root' },
      args: ['sh', '-c', 'true'],
      env: ['PATH=/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
      oomScoreAdj: -100,
      ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
      scheduler: { policy: 'SCHED_OTHER', nice: 1, flags: ['SCHED_FLAG_RECLAIM'] },
      execCPUAffinity: { initial: '0', final: '0-1' },
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'h',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/data', type: 'bind', source: '/srv', options: ['rbind', 'ro'], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] },
    ],
    hooks: { prestart: hook, poststart: hook, poststop: hook },
    annotations: { 'org.example': 'v' },
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network', path: '/proc/1/ns/net' }, { type: 'mount' }],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      timeOffsets: { monotonic: { secs: 1, nanosecs: 2 } },
      devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 }],
      netDevices: { eth0: { name: 'eth1' } },
      cgroupsPath: '/berth/x',
      resources: {
        devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: null, minor: 3, access: 'rw' }],
        memory: { limit: 67108864, swap: -1, swappiness: 10, disableOOMKiller: false },
        cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1' },
        pids: { limit: 64 },
        blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 100 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] },
        hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }],
        network: { classID: 1, priorities: [{ name: 'eth0', priority: 5 }] },
        rdma: { mlx5_1: { hcaHandles: 3 } },
        unified: { 'memory.high': '1000000' },
      },
      sysctl: { 'net.ipv4.ip_forward': '1' },
      seccomp: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        architectures: ['SCMP_ARCH_X86_64'],
        flags: ['SECCOMP_FILTER_FLAG_LOG'],
        syscalls: [
          { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
          { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
        ],
      },
      rootfsPropagation: 'rprivate',
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      personality: { domain: 'LINUX', flags: [] },
      intelRdt: { closID: 'c', schemata: ['L3:0=ff'], enableMonitoring: true },
      memoryPolicy: { mode: 'MPOL_BIND', nodes: '0', flags: [] },
    },
  };
  const windowsLike = { ociVersion: '1.0.0', process: { user: { uid: 0, gid: 0 }, commandLine: 'cmd', cwd: '/' } };
  const desc = (c: string) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(c), size: 10 });
  const descriptor = {
    ...desc('a'),
    urls: ['https://example.com/x'],
    annotations: { k: 'v' },
    data: 'aGVsbG8=',
    platform: { architecture: 'amd64', os: 'linux', 'os.version': '1', 'os.features': ['f'], variant: 'v8', features: [] },
    artifactType: 'application/x.test',
  };
  return {
    spec: [full, windowsLike, { ociVersion: '1.0.0' }],
    state: [{ ociVersion: '1.0.2', id: 'c1', status: 'created', pid: 42, bundle: '/b', annotations: { a: 'b' }, owner: '' }],
    descriptor: [descriptor],
    imageIndex: [{ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [descriptor, desc('b')], subject: desc('c'), annotations: {} }],
    imageManifest: [{ schemaVersion: 2, config: desc('c'), layers: [desc('d'), descriptor], subject: descriptor, artifactType: 'application/x.t' }],
    imageConfig: [
      {
        architecture: 'amd64',
        os: 'linux',
        created: '2024-01-01T00:00:00Z',
        config: {
          Env: ['PATH=/bin'],
          Cmd: ['sh'],
          Entrypoint: null,
          ExposedPorts: { '80/tcp': {} },
          Volumes: { '/v': {} },
          Labels: { a: 'b' },
          Healthcheck: { Test: ['CMD', 'true'], Interval: 1, Retries: 3 },
        },
        rootfs: { type: 'layers', diff_ids: [sha('e'), sha('f')] },
        history: [{ created_by: 'ADD rootfs /', empty_layer: false }],
      },
    ],
    imageLayout: [{ imageLayoutVersion: '1.0.0' }],
  };
}

// Values a mutation puts somewhere in a good document: each is valid in some places
// and invalid in others, around the edges refinements draw (integers, signs, absolute
// paths, KEY=value, empty strings, digests, enums).
const VALUES: unknown[] = [
  undefined, null, true, false, 0, -1, 1, 1.5, -0.5, 2 ** 64, 2, 1e21, '', 'x', '/abs', 'rel/x', 'A=b', 'noequals',
  '1.0.0', 'one', sha('a'), 'sha256:abc', 'pid', 'mount', 'SCMP_ACT_ALLOW', 'RLIMIT_CPU', 'rlimit_cpu', 'c', 'rw', 'rwx',
  'layers', 'application/json', 'no media type', [], [''], ['x'], [1], [null], {}, { type: 'pid' }, { x: 1 },
];

/** A tiny deterministic PRNG (mulberry32), so a failure replays. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every container (object or array) in the document, with the keys it holds. */
function containers(doc: unknown, out: unknown[] = []): unknown[] {
  if (doc !== null && typeof doc === 'object') {
    out.push(doc);
    for (const v of Object.values(doc)) containers(v, out);
  }
  return out;
}

function mutate(doc: unknown, random: () => number): unknown {
  const copy = structuredClone(doc);
  const steps = 1 + Math.floor(random() * 3);
  for (let s = 0; s < steps; s++) {
    const all = containers(copy);
    const target = all[Math.floor(random() * all.length)] as Record<string, unknown> | unknown[];
    const keys = Object.keys(target);
    const pick = random();
    if (Array.isArray(target) && target.length > 0 && pick < 0.15) {
      // Duplicates and removals make the array-level rules (unique namespace types,
      // at least one entry) fire.
      if (random() < 0.5) target.push(structuredClone(target[Math.floor(random() * target.length)]));
      else target.splice(Math.floor(random() * target.length), 1);
    } else if (keys.length > 0 && pick < 0.9) {
      const key = keys[Math.floor(random() * keys.length)]!;
      const value = VALUES[Math.floor(random() * VALUES.length)];
      if (value === undefined && !Array.isArray(target)) delete (target as Record<string, unknown>)[key];
      else (target as Record<string, unknown>)[key] = structuredClone(value);
    } else if (!Array.isArray(target)) {
      target[`extra${s}`] = VALUES[Math.floor(random() * VALUES.length)];
    }
  }
  return copy;
}

describe('generated validators accept exactly what zod accepts', () => {
  const schemas = zodSchemas();
  const docs = goodDocuments();
  for (const name of Object.keys(docs) as ValidatorName[]) {
    it(name, () => {
      const fast = compiled[name];
      const random = prng(name.length * 7919);
      let invalid = 0;
      const cases = [...docs[name], null, 'x', [], 3, {}];
      for (const good of docs[name]) {
        expect(fast(good), 'a good document').toBe(true);
        for (let i = 0; i < 1500; i++) cases.push(mutate(good, random));
      }
      for (const doc of cases) {
        const zodSays = schemas[name].safeParse(doc).success;
        if (!zodSays) invalid++;
        if (fast(doc) !== zodSays) expect.fail(`${name}: generated says ${!zodSays}, zod says ${zodSays} for ${JSON.stringify(doc)}`);
      }
      // The mutations must reach both sides, or the comparison proves little.
      expect(invalid).toBeGreaterThan(cases.length / 4);
      expect(invalid).toBeLessThan(cases.length);
    });
  }
});
