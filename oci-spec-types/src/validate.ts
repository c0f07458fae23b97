// Validation of runtime-spec and image-spec documents with zod. The runtime loads
// this module on every `create`, and requiring zod alone costs ~35 ms of a ~60 ms
// Node start here, so neither zod nor the schemas are touched until the first
// validate call. Unknown fields pass through untouched (config.md: runtimes MUST
// ignore properties they do not recognise), so a validated document keeps them.
import { createRequire } from 'node:module';
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
  type Spec,
  type State,
} from './runtime.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageLayout, ImageManifest } from './image.js';

/** Thrown by every validate function; `path` is the JSON path of the first bad field. */
export class SpecValidationError extends Error {
  readonly kind = 'InvalidArgument';
  constructor(
    /** e.g. `linux.namespaces[2].type`; empty when the document itself is wrong. */
    readonly path: string,
    /** The problem without the path, e.g. `invalid value "foo" (expected one of pid, ...)`. */
    readonly reason: string,
    /** Which document was being validated: `config.json`, `state`, `image manifest`... */
    readonly document: string,
  ) {
    super(path ? `${path}: ${reason}` : `${document}: ${reason}`);
    this.name = 'SpecValidationError';
  }
}

function loadZod(): typeof Zod {
  // A bundle (esbuild, CommonJS) and vitest both provide `require`; in a bundle esbuild
  // inlines zod behind this call and evaluates it only when it runs. Plain Node ESM
  // has no `require`, and `import.meta` would make esbuild warn in the CommonJS
  // bundles, so that case resolves zod from this file's own path.
  if (typeof require === 'function') return require('zod');
  return createRequire(ownFileName())('zod');
}

function ownFileName(): string {
  const saved = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_e, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[];
    return sites[0]!.getFileName() ?? `${process.cwd()}/`;
  } finally {
    Error.prepareStackTrace = saved;
  }
}

const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const DIGEST_ENCODED_RE: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };

/** image-spec descriptor.md: `algorithm:encoded`, with registered algorithms checked strictly. */
export function isDigest(s: string): boolean {
  if (!DIGEST_RE.test(s)) return false;
  const i = s.indexOf(':');
  const strict = DIGEST_ENCODED_RE[s.slice(0, i)];
  return strict ? strict.test(s.slice(i + 1)) : true;
}

function helpers(z: typeof Zod) {
  return {
    int: () => z.number().refine(Number.isInteger, 'expected an integer'),
    uint: () => z.number().refine((n) => Number.isInteger(n) && n >= 0, 'expected a non-negative integer'),
    str: () => z.string(),
    strs: () => z.array(z.string()),
    map: () => z.record(z.string(), z.string()),
    absPath: () => z.string().refine((s) => s.startsWith('/'), 'expected an absolute path'),
    nonEmpty: () => z.string().refine((s) => s.length > 0, 'must not be empty'),
    obj: z.looseObject,
    digest: () => z.string().refine(isDigest, 'expected a digest algorithm:encoded, e.g. sha256:<64 hex digits>'),
    ociVersion: () => z.string().regex(/^[0-9]+\.[0-9]+\.[0-9]+/, 'expected a SemVer version such as 1.2.0'),
  };
}

function buildRuntimeSchemas(z: typeof Zod) {
  const { int, uint, str, strs, map, absPath, nonEmpty, obj } = helpers(z);
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
    env: z.array(z.string().refine((s) => s.includes('='), 'expected KEY=value')).optional(),
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

  const ociVersion = helpers(z).ociVersion();

  const spec = obj({
    ociVersion,
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
    ociVersion,
    id: nonEmpty(),
    status: z.enum([...CONTAINER_STATUSES, 'paused']),
    pid: uint().optional(),
    bundle: absPath(),
    annotations: map().optional(),
  });
  return { spec, state };
}

function buildImageSchemas(z: typeof Zod) {
  const { int, uint, str, strs, map, nonEmpty, obj, digest } = helpers(z);
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

// Built on first use, each family on its own: `create` pays only for the runtime's.
let runtimeSchemas: ReturnType<typeof buildRuntimeSchemas> | undefined;
let imageSchemas: ReturnType<typeof buildImageSchemas> | undefined;
let zod: typeof Zod | undefined;

function runtime() {
  zod ??= loadZod();
  runtimeSchemas ??= buildRuntimeSchemas(zod);
  return runtimeSchemas;
}

function image() {
  zod ??= loadZod();
  imageSchemas ??= buildImageSchemas(zod);
  return imageSchemas;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let cur: unknown = doc;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key as string)) return { found: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: cur };
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function reasonFor(issue: Zod.core.$ZodIssue, doc: unknown): string {
  const at = valueAt(doc, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      if (!at.found || at.value === undefined) return `required field missing (expected ${issue.expected})`;
      return `expected ${issue.expected}, got ${kindOf(at.value)} ${show(at.value)}`;
    case 'invalid_value': {
      const values = issue.values.map((v) => String(v));
      const expected = values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${values.join(', ')}`;
      return `invalid value ${show(at.value)} (expected ${expected})`;
    }
    case 'invalid_format':
    case 'custom':
      if (!at.found) return issue.message;
      return `invalid value ${show(at.value)} (${issue.message})`;
    case 'invalid_union': {
      const inner = issue.errors[0]?.[0];
      return inner ? reasonFor({ ...inner, path: [...issue.path, ...inner.path] }, doc) : issue.message;
    }
    default:
      return issue.message;
  }
}

function validate<T>(schema: Zod.ZodType, doc: unknown, document: string): T {
  const result = schema.safeParse(doc);
  if (result.success) return result.data as T;
  const issue = result.error.issues[0]!;
  throw new SpecValidationError(formatPath(issue.path), reasonFor(issue, doc), document);
}

/** Validates a runtime bundle's config.json. */
export function validateSpec(doc: unknown): Spec {
  return validate<Spec>(runtime().spec, doc, 'config.json');
}

/** Validates a runtime state document (`runtime state ID`). */
export function validateState(doc: unknown): State {
  return validate<State>(runtime().state, doc, 'state');
}

export function validateDescriptor(doc: unknown): Descriptor {
  return validate<Descriptor>(image().descriptor, doc, 'descriptor');
}

export function validateImageIndex(doc: unknown): ImageIndex {
  return validate<ImageIndex>(image().index, doc, 'image index');
}

export function validateImageManifest(doc: unknown): ImageManifest {
  return validate<ImageManifest>(image().manifest, doc, 'image manifest');
}

export function validateImageConfig(doc: unknown): ImageConfig {
  return validate<ImageConfig>(image().imageConfig, doc, 'image config');
}

/** Validates the `oci-layout` file of an image layout. */
export function validateImageLayout(doc: unknown): ImageLayout {
  return validate<ImageLayout>(image().layout, doc, 'oci-layout');
}
