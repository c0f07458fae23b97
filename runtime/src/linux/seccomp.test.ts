// Compiling linux.seccomp against a recording libseccomp: actions and errno
// values, architectures, flags, rules per argument, skipped names, checks.
import { describe, expect, it } from 'vitest';
import { FakeSys } from '../sys/fake.js';
import { fakeLibseccomp, SCMP_ACT, SCMP_ATTR, SCMP_CMP } from '../sys/libseccomp.js';
import { actionCode, checkSeccomp, compileSeccomp, loadSeccomp, ruleConditions } from './seccomp.js';

describe('seccomp', () => {
  it('maps every action, with errnoRet (EPERM by default) for ERRNO and TRACE', () => {
    expect(actionCode('SCMP_ACT_KILL')).toBe(0);
    expect(actionCode('SCMP_ACT_KILL_THREAD')).toBe(0);
    expect(actionCode('SCMP_ACT_KILL_PROCESS')).toBe(0x80000000);
    expect(actionCode('SCMP_ACT_TRAP')).toBe(0x30000);
    expect(actionCode('SCMP_ACT_ERRNO')).toBe(0x50001);
    expect(actionCode('SCMP_ACT_ERRNO', 13)).toBe(0x5000d);
    expect(actionCode('SCMP_ACT_TRACE', 5)).toBe(0x7ff00005);
    expect(actionCode('SCMP_ACT_LOG')).toBe(0x7ffc0000);
    expect(actionCode('SCMP_ACT_ALLOW')).toBe(0x7fff0000);
    expect(actionCode('SCMP_ACT_NOTIFY')).toBe(0x7fc00000);
  });

  it('compiles the default action, NNP off, flags, architectures and rules; skips unknown names and default-action rules', () => {
    const { lib, calls } = fakeLibseccomp();
    compileSeccomp(lib, {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [
        { names: ['read', 'no_such_call', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      ],
    });
    // The native architecture (x86_64) in the first context; x86 compiled apart and merged in.
    const rules = [
      ['rule', SCMP_ACT.ALLOW, 0, []],
      ['rule', SCMP_ACT.ALLOW, 1, []],
      ['rule', 0x5000d, 90, []],
    ];
    expect(calls).toEqual([
      ['init', 0x50026],
      ['attr', SCMP_ATTR.CTL_NNP, 0],
      ['attr', SCMP_ATTR.CTL_LOG, 1],
      ...rules,
      ['init', 0x50026],
      ['attr', SCMP_ATTR.CTL_NNP, 0],
      ['attr', SCMP_ATTR.CTL_LOG, 1],
      ['archAdd', 0x40000003, { ctx: 2 }],
      ['archRemove', 0xc000003e, { ctx: 2 }],
      ...rules,
      ['merge', { ctx: 1 }, { ctx: 2 }],
    ]);
  });

  it('ANDs comparisons of different arguments and splits several on one argument into ORed rules', () => {
    const and = ruleConditions({
      names: ['x'],
      action: 'SCMP_ACT_ALLOW',
      args: [
        { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
        { index: 1, value: 0xff, valueTwo: 2, op: 'SCMP_CMP_MASKED_EQ' },
      ],
    });
    expect(and).toEqual([
      [
        { arg: 0, op: SCMP_CMP.SCMP_CMP_EQ, a: 1n, b: 0n },
        { arg: 1, op: SCMP_CMP.SCMP_CMP_MASKED_EQ, a: 0xffn, b: 2n },
      ],
    ]);
    const or = ruleConditions({
      names: ['x'],
      action: 'SCMP_ACT_ALLOW',
      args: [
        { index: 0, value: 0, op: 'SCMP_CMP_EQ' },
        { index: 0, value: 8, op: 'SCMP_CMP_EQ' },
      ],
    });
    expect(or).toHaveLength(2);
    expect(ruleConditions({ names: ['x'], action: 'SCMP_ACT_ALLOW' })).toEqual([[]]);
  });

  it('refuses NOTIFY without listenerPath, NOTIFY as default, unknown flags, argument index > 5, unknown architectures', () => {
    expect(() => checkSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] })).toThrow(/listenerPath/);
    expect(() => checkSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY' })).toThrow(/cannot be the default action/);
    expect(() => checkSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] })).toThrow(/not supported/);
    expect(() =>
      checkSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }),
    ).toThrow(/syscalls\[0\]\.args\[0\]\.index: 6/);
    const { lib, calls } = fakeLibseccomp();
    expect(() => compileSeccomp(lib, { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_PARISC'] })).toThrow(/SCMP_ARCH_PARISC/);
    // Refused before any filter context exists: nothing to release.
    expect(calls.filter((c) => c[0] === 'init')).toEqual([]);
  });

  it('loads, then hands the notify fd to the listener with the process state', () => {
    const { lib, calls } = fakeLibseccomp();
    const sys = new FakeSys();
    const filter = compileSeccomp(lib, {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/run/l.sock',
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    });
    loadSeccomp(lib, sys, filter, { fd: 7, message: { pid: 42 } });
    expect(calls.slice(-3)).toEqual([['load'], ['notifyFd'], ['release']]);
    expect(sys.only('sendFd')).toEqual([['sendFd', 7, '{"pid":42}', 42]]);
  });
});
