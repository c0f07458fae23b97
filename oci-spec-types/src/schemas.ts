// The zod schemas of runtime-spec and image-spec documents: the single source of
// validation. The runtime does not load them to validate a good document; a build
// step (generate.ts) turns them into JSON Schema and ajv standalone code
// (generated/validators.js), and zod only runs to describe what is wrong with a bad
// one (validate.ts). JSON Schema cannot see zod refinements, so every refined schema
// here carries a hint: the JSON Schema fragment that accepts exactly what the
// refinement accepts (the generator refuses a refinement without one).
import type * as Zod from 'zod';
import {
  CONTAINER_STATUSES,
  IO_PRIORITY_CLASSES,
  NAMESPACE_TYPES,
  PERSONALITY_DOMAINS,
  ROOTFS_PROPAGATIONS,
  SCHEDULER_FLAGS,
  SCHEDULER_POLICIES,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
} from './runtime.js';

/** A JSON Schema fragment merged into the generated schema of the zod schema it is registered for. */
export type JsonHint = Record<string, unknown>;
export type Hints = Zod.core.$ZodRegistry<JsonHint>;

/**
 * A keyword of the generated validators that JSON Schema lacks (generate.ts implements
 * it as ajv code): config-linux.md forbids a namespace type given twice.
 */
export const UNIQUE_NAMESPACE_TYPES = 'x-uniqueNamespaceTypes';

const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const DIGEST_ENCODED_RE: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };

// The same rule as one regular expression, for JSON Schema: the algorithm is everything
// before the first colon, so the strict cases are the ones starting with their name.
const DIGEST_PATTERN =
  '^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}|(?!sha256:|sha512:)[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)$';
export const digestPattern = (): RegExp => new RegExp(DIGEST_PATTERN);

/** image-spec descriptor.md: `algorithm:encoded`, with registered algorithms checked strictly. */
export function isDigest(s: string): boolean {
  if (!DIGEST_RE.test(s)) return false;
  const i = s.indexOf(':');
  const strict = DIGEST_ENCODED_RE[s.slice(0, i)];
  return strict ? strict.test(s.slice(i + 1)) : true;
}

function helpers(z: typeof Zod, hints: Hints | undefined) {
  const hint = <S extends Zod.ZodType>(schema: S, json: JsonHint): S => {
    hints?.add(schema, json);
    return schema;
  };
  return {
    hint,
    int: () => hint(z.number().refine(Number.isInteger, 'expected an integer'), { type: 'integer' }),
    uint: () =>
      hint(z.number().refine((n) => Number.isInteger(n) && n >= 0, 'expected a non-negative integer'), {
        type: 'integer',
        minimum: 0,
      }),
    str: () => z.string(),
    strs: () => z.array(z.string()),
    map: () => z.record(z.string(), z.string()),
    absPath: () => hint(z.string().refine((s) => s.startsWith('/'), 'expected an absolute path'), { pattern: '^/' }),
    nonEmpty: () => hint(z.string().refine((s) => s.length > 0, 'must not be empty'), { minLength: 1 }),
    obj: z.looseObject,
    digest: () =>
      hint(z.string().refine(isDigest, 'expected a digest algorithm:encoded, e.g. sha256:<64 hex digits>'), {
        pattern: DIGEST_PATTERN,
      }),
    ociVersion: () => z.string().regex(/^[0-9]+\.[0-9]+\.[0-9]+/, 'expected a SemVer version such as 1.2.0'),
  };
}

export function buildRuntimeSchemas(z: typeof Zod, hints?: Hints) {
  const { hint, int, uint, str, strs, map, absPath, nonEmpty, obj, ociVersion } = helpers(z, hints);
  const idMapping = obj({ containerID: uint(), hostID: uint(), size: uint() });
  const mount = obj({
    destination: nonEmpty(),
    type: str().optional(),
    source: str().optional(),
    options: strs().optional(),
    uidMappings: z.array(idMapping).optional(),
    gidMappings: z.array(idMapping).optional(),
  });
  const hook = obj({ path: absPath(), args: strs().optional(), env: strs().optional(), timeout: int().optional() });
  const hooks = z.array(hook).optional();

  const process = obj({
    terminal: z.boolean().optional(),
    consoleSize: obj({ height: uint(), width: uint() }).optional(),
    user: obj({
      uid: uint(),
      gid: uint(),
      umask: uint().optional(),
      additionalGids: z.array(uint()).optional(),
      username: str().optional(),
    }),
    args: strs().optional(),
    commandLine: str().optional(),
    env: z.array(hint(z.string().refine((s) => s.includes('='), 'expected KEY=value'), { pattern: '=' })).optional(),
    cwd: absPath(),
    capabilities: obj({
      bounding: strs().optional(),
      effective: strs().optional(),
      inheritable: strs().optional(),
      permitted: strs().optional(),
      ambient: strs().optional(),
    }).optional(),
    rlimits: z
      .array(obj({ type: z.string().regex(/^RLIMIT_[A-Z]+$/, 'expected RLIMIT_<NAME>'), hard: uint(), soft: uint() }))
      .optional(),
    noNewPrivileges: z.boolean().optional(),
    apparmorProfile: str().optional(),
    oomScoreAdj: int().optional(),
    selinuxLabel: str().optional(),
    ioPriority: obj({ class: z.enum(IO_PRIORITY_CLASSES), priority: int().optional() }).optional(),
    scheduler: obj({
      policy: z.enum(SCHEDULER_POLICIES),
      nice: int().optional(),
      priority: int().optional(),
      flags: z.array(z.enum(SCHEDULER_FLAGS)).optional(),
      runtime: uint().optional(),
      deadline: uint().optional(),
      period: uint().optional(),
    }).optional(),
    execCPUAffinity: obj({ initial: str().optional(), final: str().optional() }).optional(),
  }).superRefine((p, ctx) => {
    // config.md: on POSIX platforms args needs at least one entry (Windows may use commandLine).
    if (p.commandLine === undefined && (!p.args || p.args.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['args'], message: 'required: at least one entry' });
    }
  });
  hint(process, {
    anyOf: [
      { type: 'object', required: ['commandLine'] },
      { type: 'object', required: ['args'], properties: { args: { type: 'array', minItems: 1 } } },
    ],
  });

  const blockIODevice = { major: int(), minor: int() };
  const throttle = z.array(obj({ ...blockIODevice, rate: uint() })).optional();
  const resources = obj({
    devices: z
      .array(
        obj({
          allow: z.boolean(),
          type: z.enum(['a', 'b', 'c']).optional(),
          major: int().nullable().optional(),
          minor: int().nullable().optional(),
          access: z.string().regex(/^[rwm]*$/, 'expected any of r, w, m').optional(),
        }),
      )
      .optional(),
    memory: obj({
      limit: int().optional(),
      reservation: int().optional(),
      swap: int().optional(),
      kernel: int().optional(),
      kernelTCP: int().optional(),
      swappiness: uint().optional(),
      disableOOMKiller: z.boolean().optional(),
      useHierarchy: z.boolean().optional(),
      checkBeforeUpdate: z.boolean().optional(),
    }).optional(),
    cpu: obj({
      shares: uint().optional(),
      quota: int().optional(),
      burst: uint().optional(),
      period: uint().optional(),
      realtimeRuntime: int().optional(),
      realtimePeriod: uint().optional(),
      cpus: str().optional(),
      mems: str().optional(),
      idle: int().optional(),
    }).optional(),
    pids: obj({ limit: int() }).optional(),
    blockIO: obj({
      weight: uint().optional(),
      leafWeight: uint().optional(),
      weightDevice: z
        .array(obj({ ...blockIODevice, weight: uint().optional(), leafWeight: uint().optional() }))
        .optional(),
      throttleReadBpsDevice: throttle,
      throttleWriteBpsDevice: throttle,
      throttleReadIOPSDevice: throttle,
      throttleWriteIOPSDevice: throttle,
    }).optional(),
    hugepageLimits: z.array(obj({ pageSize: nonEmpty(), limit: uint() })).optional(),
    network: obj({
      classID: uint().optional(),
      priorities: z.array(obj({ name: str(), priority: uint() })).optional(),
    }).optional(),
    rdma: z.record(z.string(), obj({ hcaHandles: uint().optional(), hcaObjects: uint().optional() })).optional(),
    unified: map().optional(),
  });

  const seccompAction = z.enum(SECCOMP_ACTIONS);
  const seccomp = obj({
    defaultAction: seccompAction,
    defaultErrnoRet: uint().optional(),
    architectures: z.array(z.enum(SECCOMP_ARCHES)).optional(),
    flags: z.array(z.enum(SECCOMP_FLAGS)).optional(),
    listenerPath: str().optional(),
    listenerMetadata: str().optional(),
    syscalls: z
      .array(
        obj({
          names: z.array(nonEmpty()).min(1, 'required: at least one entry'),
          action: seccompAction,
          errnoRet: uint().optional(),
          args: z
            .array(obj({ index: uint(), value: uint(), valueTwo: uint().optional(), op: z.enum(SECCOMP_OPERATORS) }))
            .optional(),
        }),
      )
      .optional(),
  });

  const namespaces = z.array(obj({ type: z.enum(NAMESPACE_TYPES), path: str().optional() })).superRefine((list, ctx) => {
    // config-linux.md: a namespace type given twice is an error.
    const seen = new Set<string>();
    list.forEach((ns, i) => {
      if (seen.has(ns.type)) ctx.addIssue({ code: 'custom', path: [i, 'type'], message: `duplicate namespace type "${ns.type}"` });
      seen.add(ns.type);
    });
  });
  hint(namespaces, { [UNIQUE_NAMESPACE_TYPES]: true });

  const linux = obj({
    namespaces: namespaces.optional(),
    uidMappings: z.array(idMapping).optional(),
    gidMappings: z.array(idMapping).optional(),
    timeOffsets: z.record(z.string(), obj({ secs: int().optional(), nanosecs: uint().optional() })).optional(),
    devices: z
      .array(
        obj({
          path: absPath(),
          type: z.enum(['c', 'b', 'u', 'p']),
          major: int().optional(),
          minor: int().optional(),
          fileMode: uint().optional(),
          uid: uint().optional(),
          gid: uint().optional(),
        }),
      )
      .optional(),
    netDevices: z.record(z.string(), obj({ name: str().optional() })).optional(),
    cgroupsPath: str().optional(),
    resources: resources.optional(),
    sysctl: map().optional(),
    seccomp: seccomp.optional(),
    rootfsPropagation: z.enum(ROOTFS_PROPAGATIONS).optional(),
    maskedPaths: strs().optional(),
    readonlyPaths: strs().optional(),
    mountLabel: str().optional(),
    personality: obj({ domain: z.enum(PERSONALITY_DOMAINS), flags: strs().optional() }).optional(),
    intelRdt: obj({
      closID: str().optional(),
      l3CacheSchema: str().optional(),
      memBwSchema: str().optional(),
      schemata: strs().optional(),
      enableMonitoring: z.boolean().optional(),
      enableCMT: z.boolean().optional(),
      enableMBM: z.boolean().optional(),
    }).optional(),
    memoryPolicy: obj({ mode: str(), nodes: str().optional(), flags: strs().optional() }).optional(),
  });

  const spec = obj({
    ociVersion: ociVersion(),
    process: process.optional(),
    root: obj({ path: nonEmpty(), readonly: z.boolean().optional() }).optional(),
    hostname: str().optional(),
    domainname: str().optional(),
    mounts: z.array(mount).optional(),
    hooks: obj({
      prestart: hooks,
      createRuntime: hooks,
      createContainer: hooks,
      startContainer: hooks,
      poststart: hooks,
      poststop: hooks,
    }).optional(),
    annotations: map().optional(),
    linux: linux.optional(),
  });

  const state = obj({
    ociVersion: ociVersion(),
    id: nonEmpty(),
    status: z.enum([...CONTAINER_STATUSES, 'paused']),
    pid: uint().optional(),
    bundle: absPath(),
    annotations: map().optional(),
  });
  return { spec, state };
}

export function buildImageSchemas(z: typeof Zod, hints?: Hints) {
  const { int, uint, str, strs, map, nonEmpty, obj, digest } = helpers(z, hints);
  const platform = obj({
    architecture: nonEmpty(),
    os: nonEmpty(),
    'os.version': str().optional(),
    'os.features': strs().optional(),
    variant: str().optional(),
    features: strs().optional(),
  });
  const mediaType = () => z.string().regex(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/, 'expected a media type type/subtype');
  const descriptor = obj({
    mediaType: mediaType(),
    digest: digest(),
    size: uint(),
    urls: strs().optional(),
    annotations: map().optional(),
    data: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64').optional(),
    platform: platform.optional(),
    artifactType: mediaType().optional(),
  });
  const schemaVersion = z.literal(2);
  const index = obj({
    schemaVersion,
    mediaType: mediaType().optional(),
    artifactType: mediaType().optional(),
    manifests: z.array(descriptor),
    subject: descriptor.optional(),
    annotations: map().optional(),
  });
  const manifest = obj({
    schemaVersion,
    mediaType: mediaType().optional(),
    artifactType: mediaType().optional(),
    config: descriptor,
    layers: z.array(descriptor),
    subject: descriptor.optional(),
    annotations: map().optional(),
  });
  const nullableStrs = () => strs().nullable().optional();
  const imageConfig = obj({
    created: str().optional(),
    author: str().optional(),
    architecture: nonEmpty(),
    os: nonEmpty(),
    'os.version': str().optional(),
    'os.features': strs().optional(),
    variant: str().optional(),
    config: obj({
      User: str().optional(),
      ExposedPorts: z.record(z.string(), z.looseObject({})).nullable().optional(),
      Env: nullableStrs(),
      Entrypoint: nullableStrs(),
      Cmd: nullableStrs(),
      Volumes: z.record(z.string(), z.looseObject({})).nullable().optional(),
      WorkingDir: str().optional(),
      Labels: map().nullable().optional(),
      StopSignal: str().optional(),
      ArgsEscaped: z.boolean().optional(),
      OnBuild: nullableStrs(),
      Shell: nullableStrs(),
      Healthcheck: obj({
        Test: nullableStrs(),
        Interval: int().optional(),
        Timeout: int().optional(),
        StartPeriod: int().optional(),
        StartInterval: int().optional(),
        Retries: int().optional(),
      }).optional(),
    })
      .nullable()
      .optional(),
    rootfs: obj({ type: z.literal('layers'), diff_ids: z.array(digest()) }),
    history: z
      .array(
        obj({
          created: str().optional(),
          created_by: str().optional(),
          author: str().optional(),
          comment: str().optional(),
          empty_layer: z.boolean().optional(),
        }),
      )
      .optional(),
  });
  const layout = obj({ imageLayoutVersion: nonEmpty() });

  return { descriptor, index, manifest, imageConfig, layout };
}
