// libseccomp (Debian's libseccomp2) through koffi: the filter compiler the seccomp
// module drives. Like the rest of src/sys this is the only place its functions are
// declared; a recording fake beside it serves the unit tests.
import koffi from 'koffi';
import { SysError } from './index.js';

export type ScmpCtx = unknown;

export interface ScmpCondition {
  arg: number;
  op: number;
  a: bigint;
  b: bigint;
}

export interface Libseccomp {
  init(defaultAction: number): ScmpCtx;
  release(ctx: ScmpCtx): void;
  /** The token of an architecture by libseccomp's name (`x86_64`), or 0 when unknown. */
  archResolve(name: string): number;
  /** Adds an architecture; one already in the filter (the native one) is not an error. */
  archAdd(ctx: ScmpCtx, token: number): void;
  archRemove(ctx: ScmpCtx, token: number): void;
  /** The token of the architecture this process runs on (in every new filter). */
  archNative(): number;
  /** Merges `src` (architectures disjoint from `dst`'s) into `dst`; `src` is consumed on success. */
  merge(dst: ScmpCtx, src: ScmpCtx): void;
  /** The syscall number on the native architecture, or a negative number when the name is unknown. */
  syscallResolve(name: string): number;
  /** Adds a rule; one libseccomp says already exists (EEXIST) is ignored, as runc does. */
  ruleAdd(ctx: ScmpCtx, action: number, syscall: number, conditions: ScmpCondition[], what: string): void;
  attrSet(ctx: ScmpCtx, attr: number, value: number): void;
  /** Loads the filter into the calling thread (or every thread with TSYNC). */
  load(ctx: ScmpCtx): void;
  notifyFd(ctx: ScmpCtx): number;
}

export const SCMP_ACT = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0,
  TRAP: 0x00030000,
  NOTIFY: 0x7fc00000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

export const SCMP_ATTR = { CTL_NNP: 3, CTL_TSYNC: 4, CTL_LOG: 6, CTL_SSB: 7 } as const;

export const SCMP_CMP = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
} as const;

export function loadLibseccomp(): Libseccomp {
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libseccomp.so.2');
  } catch (err: any) {
    throw new SysError('seccomp', 38, 'ENOSYS', `cannot load libseccomp.so.2 (install libseccomp2): ${err?.message ?? err}`);
  }
  const f = {
    init: lib.func('void *seccomp_init(uint32_t def_action)'),
    release: lib.func('void seccomp_release(void *ctx)'),
    archResolve: lib.func('uint32_t seccomp_arch_resolve_name(const char *name)'),
    archAdd: lib.func('int seccomp_arch_add(void *ctx, uint32_t token)'),
    archRemove: lib.func('int seccomp_arch_remove(void *ctx, uint32_t token)'),
    archNative: lib.func('uint32_t seccomp_arch_native(void)'),
    merge: lib.func('int seccomp_merge(void *dst, void *src)'),
    syscallResolve: lib.func('int seccomp_syscall_resolve_name(const char *name)'),
    ruleAdd: lib.func('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int n, void *conds)'),
    attrSet: lib.func('int seccomp_attr_set(void *ctx, int attr, uint32_t value)'),
    load: lib.func('int seccomp_load(void *ctx)'),
    notifyFd: lib.func('int seccomp_notify_fd(void *ctx)'),
  };
  // libseccomp returns -errno rather than setting errno.
  const check = (ret: number, call: string, what?: string): number => {
    if (ret < 0) {
      const errno = -ret;
      throw new SysError(call, errno, `E${errno}`, `libseccomp error ${errno}`, what);
    }
    return ret;
  };
  return {
    init: (action) => {
      const ctx = f.init(action >>> 0);
      if (!ctx) throw new SysError('seccomp_init', 22, 'EINVAL', 'cannot create a seccomp filter');
      return ctx;
    },
    release: (ctx) => f.release(ctx),
    archResolve: (name) => f.archResolve(name),
    archAdd: (ctx, token) => {
      const ret = f.archAdd(ctx, token >>> 0);
      if (ret !== -17 /* EEXIST */) check(ret, 'seccomp_arch_add');
    },
    archRemove: (ctx, token) => void check(f.archRemove(ctx, token >>> 0), 'seccomp_arch_remove'),
    archNative: () => f.archNative() >>> 0,
    merge: (dst, src) => void check(f.merge(dst, src), 'seccomp_merge'),
    syscallResolve: (name) => f.syscallResolve(name),
    ruleAdd: (ctx, action, syscall, conditions, what) => {
      // struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; u64 datum_a; u64 datum_b; }
      const buf = Buffer.alloc(Math.max(24, conditions.length * 24));
      for (const [i, c] of conditions.entries()) {
        buf.writeUInt32LE(c.arg, i * 24);
        buf.writeUInt32LE(c.op, i * 24 + 4);
        buf.writeBigUInt64LE(BigInt.asUintN(64, c.a), i * 24 + 8);
        buf.writeBigUInt64LE(BigInt.asUintN(64, c.b), i * 24 + 16);
      }
      const ret = f.ruleAdd(ctx, action >>> 0, syscall, conditions.length, conditions.length ? buf : null);
      // EEXIST: libseccomp already holds a rule covering this one (a duplicate, or one
      // its per-architecture rewriting — socketcall on x86 — made identical to another).
      // runc ignores it the same way; the rules added so far stay in force.
      if (ret !== -17) check(ret, 'seccomp_rule_add', what);
    },
    attrSet: (ctx, attr, value) => void check(f.attrSet(ctx, attr, value), 'seccomp_attr_set'),
    load: (ctx) => void check(f.load(ctx), 'seccomp_load'),
    notifyFd: (ctx) => check(f.notifyFd(ctx), 'seccomp_notify_fd'),
  };
}

/** A recording stand-in for unit tests: resolves a few x86-64 syscall names. */
export function fakeLibseccomp(known: Record<string, number> = { read: 0, write: 1, mkdir: 83, chmod: 90, personality: 135 }) {
  const calls: unknown[][] = [];
  let ctxs = 0;
  const lib: Libseccomp = {
    init: (a) => {
      calls.push(['init', a]);
      return { ctx: ++ctxs };
    },
    release: () => void calls.push(['release']),
    archResolve: (name) => ({ x86_64: 0xc000003e, x86: 0x40000003, x32: 0x4000003e, aarch64: 0xc00000b7 })[name] ?? 0,
    archAdd: (c, t) => void calls.push(['archAdd', t, c]),
    archRemove: (c, t) => void calls.push(['archRemove', t, c]),
    archNative: () => 0xc000003e,
    merge: (d, sc) => void calls.push(['merge', d, sc]),
    syscallResolve: (name) => known[name] ?? -1,
    ruleAdd: (_c, action, nr, conds) => void calls.push(['rule', action, nr, conds]),
    attrSet: (_c, attr, v) => void calls.push(['attr', attr, v]),
    load: () => void calls.push(['load']),
    notifyFd: () => {
      calls.push(['notifyFd']);
      return 42;
    },
  };
  return { lib, calls };
}
