// The last steps before execve, recorded by the fake Sys.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeSys } from '../sys/fake.js';
import { PR } from '../sys/index.js';
import { finalizeAndExec, lookPath, type ProcessPlan, withHome } from './process.js';

const plan = (extra: Partial<ProcessPlan> = {}): ProcessPlan => ({
  args: ['sh', '-c', 'true'],
  env: ['PATH=/bin'],
  cwd: '/tmp',
  uid: 1000,
  gid: 100,
  additionalGids: [5],
  rlimits: [],
  noNewPrivileges: true,
  preserveFds: 1,
  ...extra,
});

describe('finalizeAndExec', () => {
  it('readies fds and signals, switches groups, gid, uid in that order, then cwd, no_new_privs, execve', () => {
    const sys = new FakeSys();
    expect(() => finalizeAndExec(sys, plan(), '/bin/sh')).toThrow(/would be replaced/);
    expect(sys.calls.map((c) => c[0])).toEqual([
      'makeInheritable', 'makeInheritable', 'makeInheritable', 'makeInheritable',
      'closeRangeCloexec', 'resetSignals',
      'setgroups', 'setresgid', 'setresuid', 'umask', 'chdir', 'getcwd', 'prctl', 'execve',
    ]);
    expect(sys.only('setgroups')).toEqual([['setgroups', [5]]]);
    expect(sys.only('umask')).toEqual([['umask', 0o022]]);
    expect(sys.only('prctl')).toEqual([['prctl', PR.SET_NO_NEW_PRIVS, 1, 0]]);
    expect(sys.only('closeRangeCloexec')).toEqual([['closeRangeCloexec', 4]]);
    expect(sys.only('execve')).toEqual([['execve', '/bin/sh', ['sh', '-c', 'true'], ['PATH=/bin']]]);
  });

  it('drops the bounding set, keeps caps across the uid switch and sets them', () => {
    const sys = new FakeSys();
    const caps = { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], ambient: ['CAP_KILL'] };
    expect(() => finalizeAndExec(sys, plan({ capabilities: caps, noNewPrivileges: false }), '/bin/sh')).toThrow();
    const drops = sys.only('prctl').filter((c) => c[1] === PR.CAPBSET_DROP).map((c) => c[2]);
    expect(drops).not.toContain(5);
    expect(drops).toContain(21); // CAP_SYS_ADMIN
    const names = sys.calls.map((c) => (c[0] === 'prctl' ? `prctl:${c[1]}` : c[0]));
    expect(names.indexOf(`prctl:${PR.SET_KEEPCAPS}`)).toBeLessThan(names.indexOf('setresuid'));
    expect(names.indexOf('capset')).toBeGreaterThan(names.indexOf('setresuid'));
    expect(sys.only('capset')).toEqual([['capset', 1n << 5n, 1n << 5n, 0n]]);
    expect(sys.only('prctl').filter((c) => c[1] === PR.CAP_AMBIENT)).toEqual([['prctl', PR.CAP_AMBIENT, PR.CAP_AMBIENT_RAISE, 5]]);
  });

  it('loads seccomp last with no_new_privs, and before credentials change without it', () => {
    const order = (noNewPrivileges: boolean) => {
      const sys = new FakeSys();
      const seccomp = () => void sys.calls.push(['seccomp']);
      expect(() => finalizeAndExec(sys, plan({ noNewPrivileges, seccomp }), '/bin/sh')).toThrow(/would be replaced/);
      return sys.calls.map((c) => c[0]);
    };
    const late = order(true);
    expect(late.slice(-2)).toEqual(['seccomp', 'execve']);
    const early = order(false);
    expect(early.indexOf('seccomp')).toBeLessThan(early.indexOf('setgroups'));
    expect(early.indexOf('seccomp')).toBeGreaterThan(early.indexOf('resetSignals'));
  });

  it('refuses a cwd that lands outside the root (getcwd fails, CVE-2024-21626)', () => {
    const sys = new FakeSys();
    sys.failOn = (c) => (c[0] === 'getcwd' ? 2 : undefined);
    expect(() => finalizeAndExec(sys, plan({ cwd: '/proc/self/fd/7' }), '/bin/sh')).toThrow(
      "process.cwd /proc/self/fd/7: resolves outside the container's root filesystem",
    );
    expect(sys.only('execve')).toEqual([]);
  });

  it('rejects an unknown capability', () => {
    expect(() => finalizeAndExec(new FakeSys(), plan({ capabilities: { bounding: ['CAP_NOPE'] } }), '/bin/sh')).toThrow(/unknown capability "CAP_NOPE"/);
  });
});

describe('lookPath and HOME', () => {
  it('finds an executable in the process PATH', () => {
    expect(lookPath('sh', ['PATH=/nonexistent:/bin'])).toBe('/bin/sh');
    expect(() => lookPath('no-such-cmd', ['PATH=/bin'])).toThrow('exec: "no-such-cmd": executable file not found in $PATH');
    expect(() => lookPath('/no/such', [])).toThrow(/no such file/);
  });

  it('fills HOME from passwd unless set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rt-unit-passwd-'));
    try {
      writeFileSync(join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n');
      expect(withHome([], 1000, join(dir, 'passwd'))).toEqual(['HOME=/home/user']);
      expect(withHome([], 4242, join(dir, 'passwd'))).toEqual(['HOME=/']);
      expect(withHome(['HOME=/x'], 0, join(dir, 'passwd'))).toEqual(['HOME=/x']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
