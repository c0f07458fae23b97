// The process: user (uid, gid, additionalGids, umask), rlimits, oomScoreAdj,
// noNewPrivileges, capabilities, sysctl, HOME.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeUnderTest } from '../helpers.js';
import { canRun, suite } from './rt.js';

describe.skipIf(!canRun)('process', () => {
  const s = suite('proc');
  const run = (args: string[], edit?: (c: any) => void) => s.rt(['run', '-b', s.bundle({ args, edit }), s.id()]);

  it('runs as the configured uid, gid and additional gids', () => {
    const r = run(['sh', '-c', 'id -u; id -g; id -G; echo $HOME'], (c) => (c.process.user = { uid: 1000, gid: 1000, additionalGids: [100, 5] }));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1000\n1000\n1000 5 100\n/home/user\n');
  });

  it('applies the umask (default 0022)', () => {
    expect(run(['sh', '-c', 'umask']).stdout).toBe('0022\n');
    expect(run(['sh', '-c', 'umask'], (c) => (c.process.user.umask = 0o077)).stdout).toBe('0077\n');
  });

  it('sets rlimits', () => {
    const r = run(['sh', '-c', 'ulimit -n; ulimit -Hn; ulimit -c'], (c) => {
      c.process.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 512, hard: 2048 },
        { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
      ];
    });
    expect(r.stdout).toBe('512\n2048\n0\n');
  });

  it('sets oomScoreAdj and noNewPrivileges', () => {
    const r = run(['sh', '-c', 'cat /proc/self/oom_score_adj; grep NoNewPrivs /proc/self/status'], (c) => (c.process.oomScoreAdj = 123));
    expect(r.stdout).toBe('123\nNoNewPrivs:\t1\n');
    const off = run(['grep', 'NoNewPrivs', '/proc/self/status'], (c) => (c.process.noNewPrivileges = false));
    expect(off.stdout).toBe('NoNewPrivs:\t0\n');
  });

  it('keeps only the configured capabilities', () => {
    const r = run(['grep', '-E', '^Cap(Eff|Bnd)', '/proc/self/status']);
    // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
    expect(r.stdout).toBe('CapEff:\t0000000020000420\nCapBnd:\t0000000020000420\n');
  });

  it('writes sysctls', () => {
    const r = run(['cat', '/proc/sys/net/ipv4/ip_forward'], (c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n');
  });

  it('passes --preserve-fds descriptors through as 3, 4, ...', () => {
    const dir = s.tempDir();
    writeFileSync(join(dir, 'three'), 'fd-three\n');
    writeFileSync(join(dir, 'four'), 'fd-four\n');
    const three = openSync(join(dir, 'three'), 'r');
    const four = openSync(join(dir, 'four'), 'r');
    try {
      const b = s.bundle({ args: ['sh', '-c', 'cat <&3; cat <&4; ls /proc/self/fd | sort -n | tr "\\n" " "'] });
      const r = spawnSync(runtimeUnderTest, ['--root', s.root, 'run', '--preserve-fds', '2', '-b', b, s.id()], {
        stdio: ['ignore', 'pipe', 'pipe', three, four],
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('fd-three\nfd-four\n0 1 2 3 4 5 ');
    } finally {
      closeSync(three);
      closeSync(four);
    }
  });

  it('closes descriptors it does not pass, and stdio is not close-on-exec', () => {
    const r = run(['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "']);
    expect(r.stdout.trim()).toBe('0 1 2 3');
  });
});
