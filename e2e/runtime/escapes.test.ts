// Regression tests for known runc container escapes: each attempts the escape
// from inside a container and asserts it fails.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeUnderTest } from '../helpers.js';
import { canRun, isBerth, suite } from './rt.js';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe.skipIf(!canRun)('escapes', () => {
  const s = suite('esc');

  // CVE-2019-5736: the container opened the runtime's own binary through
  // /proc/<runtime pid>/exe and overwrote it. berth's stages run the host's node
  // binary; they are non-dumpable, so the container cannot open or even resolve
  // their exe link (and a capability-less root cannot ptrace-read them either).
  it('CVE-2019-5736: a created container init (the stage process) cannot be opened through /proc/1/exe', () => {
    const node = process.execPath;
    const before = sha256(node);
    const cid = s.id();
    expect(s.rt(['create', '-b', s.bundle({ args: ['true'] }), cid], { files: true }).status).toBe(0);
    const script = [
      'cat /proc/1/exe > /dev/null 2>&1 && echo read-ok',
      '{ echo overwritten >> /proc/1/exe; } 2>/dev/null && echo write-ok',
      'readlink /proc/1/exe >/dev/null 2>&1 && echo link-ok',
      'grep -c . /proc/1/environ >/dev/null 2>&1 && echo environ-ok',
      'echo done',
    ].join('; ');
    const r = s.rt(['exec', cid, 'sh', '-c', script]);
    expect(r.stderr).toBe('');
    // Never writable, for any runtime.
    expect(r.stdout).not.toMatch(/write-ok/);
    // runc 1.1.5's init runs from a sealed memfd copy of runc, which the container may
    // read but not change; berth's stage is non-dumpable, so not even that.
    if (isBerth) expect(r.stdout).toBe('done\n');
    expect(sha256(node)).toBe(before);
  });

  it('CVE-2019-5736: exec stages racing a container that scans /proc for runtime binaries are never opened', async () => {
    const node = process.execPath;
    const before = sha256(node);
    // The container keeps trying every pid's exe for writing and records what it managed to open.
    const scan =
      'while :; do for p in /proc/[0-9]*; do [ "$p" = /proc/self ] && continue; l=$(readlink $p/exe 2>/dev/null) || continue; case "$l" in *busybox*) ;; *) echo "$l" >> /dev/shm/seen; (exec 3>>$p/exe) 2>/dev/null && echo "$l" >> /dev/shm/opened;; esac; done; done';
    const cid = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sh', '-c', scan] }), cid], { files: true }).status).toBe(0);
    for (let i = 0; i < 8; i++) expect(s.rt(['exec', cid, 'true']).status).toBe(0);
    const r = s.rt(['exec', cid, 'sh', '-c', 'cat /dev/shm/opened 2>/dev/null; echo end']);
    expect(r.stdout).toBe('end\n');
    expect(sha256(node)).toBe(before);
  });

  // The window before the stage is non-dumpable is closed too: berth spawns it from a
  // read-only bind mount of the node binary, so its exe can never be opened for
  // writing (a host-side poller catches the stage and checks its exe's mount).
  // runc's stage is a sealed memfd copy of runc instead: berth only.
  it.skipIf(!isBerth)('CVE-2019-5736: the exec stage runs from a read-only mount of the node binary', async () => {
    const cid = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '30'] }), cid], { files: true }).status).toBe(0);
    const poller = `
import os, sys, time
print('ready', flush=True)
parent = sys.stdin.readline().strip()
end = time.time() + 10
while time.time() < end:
    for p in os.listdir('/proc'):
        if not p.isdigit(): continue
        try:
            if b'__exec' not in open(f'/proc/{p}/cmdline', 'rb').read(): continue
            if f'PPid:\\t{parent}\\n' not in open(f'/proc/{p}/status').read(): continue
            print('ro' if os.statvfs(f'/proc/{p}/exe').f_flag & 1 else 'rw', flush=True)
            sys.exit(0)
        except OSError:
            pass
print('missed')
`;
    const seen: string[] = [];
    for (let attempt = 0; attempt < 5 && !seen.includes('ro') && !seen.includes('rw'); attempt++) {
      // The poller first (python starts slowly), then the exec, whose pid it learns on stdin.
      const py = spawn('python3', ['-c', poller], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      await new Promise<void>((r) => py.stdout.once('data', () => r()));
      py.stdout.on('data', (d) => (out += d));
      const pyExit = new Promise((r) => py.once('exit', r));
      const cli = spawn(runtimeUnderTest, ['--root', s.root, 'exec', cid, 'true'], { stdio: 'ignore' });
      py.stdin.end(`${cli.pid}\n`);
      await Promise.all([new Promise((r) => cli.once('exit', r)), pyExit]);
      seen.push(out.trim());
    }
    expect(seen).not.toContain('rw');
    expect(seen).toContain('ro');
  });

  // CVE-2021-30465: a mount destination that is (or passes through) a symlink
  // pointing outside the rootfs must resolve inside it.
  it('CVE-2021-30465: a symlinked mount destination pointing at the host resolves inside the rootfs', () => {
    const host = s.tempDir();
    const b = s.bundle({
      args: ['sh', '-c', 'echo in-container > /evil/marker && echo > /rel/marker2 && echo wrote'],
      edit: (c) => {
        c.mounts.push({ destination: '/evil', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
        c.mounts.push({ destination: '/rel/', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
      },
    });
    // An absolute symlink to a host directory, and a relative one climbing out.
    symlinkSync(host, join(b, 'rootfs', 'evil'));
    symlinkSync(`../../../../../../../../..${host}/rel`, join(b, 'rootfs', 'rel'));
    mkdirSync(join(host, 'rel'));
    const r = s.rt(['run', '-b', b, s.id()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('wrote\n');
    // Nothing reached the host directory: the mounts landed inside the rootfs.
    expect(existsSync(join(host, 'marker'))).toBe(false);
    expect(existsSync(join(host, 'rel', 'marker2'))).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(host);
  });

  // The race itself: a process sharing the rootfs keeps swapping the destination
  // between a directory and a symlink to a host directory while containers are
  // created. Where each mount landed is recorded by a createContainer hook, which
  // runs in the container's mount namespace after the mounts and before pivot_root
  // (a mount outside the rootfs vanishes at pivot_root, so only then is it visible).
  // Each create either refuses (runc's "possibly malicious path") or mounts inside
  // the rootfs; a swap that renames over the mounted directory detaches the mount,
  // which is the kernel's doing and no escape.
  it('CVE-2021-30465: a destination swapped for a symlink during setup never gets the mount outside the rootfs', async () => {
    const host = s.tempDir();
    writeFileSync(join(host, 'host-marker'), 'host\n');
    const tag = `racefs-${process.pid}-${Date.now()}`;
    const log = join(host, '..', `${tag}.log`);
    const hook = join(s.tempDir(), 'where.sh');
    writeFileSync(hook, `#!/bin/sh\ngrep " - tmpfs ${tag} " /proc/self/mountinfo | cut -d" " -f5 >> ${log}\nexit 0\n`, { mode: 0o755 });
    const b = s.bundle({
      args: ['true'],
      edit: (c) => {
        c.mounts.push({ destination: '/race/mnt', type: 'tmpfs', source: tag, options: ['size=1m'] });
        c.hooks = { createContainer: [{ path: hook }] };
      },
    });
    const rootfs = join(b, 'rootfs');
    const race = join(rootfs, 'race');
    mkdirSync(join(race, 'mnt'), { recursive: true });
    symlinkSync(host, join(race, 'lnk'));
    const swapper = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); const d = process.argv[1];
         const mv = (a, b) => { try { fs.renameSync(d + '/' + a, d + '/' + b); } catch {} };
         for (;;) { mv('mnt', 'dir'); mv('lnk', 'mnt'); mv('mnt', 'lnk'); mv('dir', 'mnt'); }`,
        race,
      ],
      { stdio: 'ignore' },
    );
    let started = 0;
    try {
      for (let i = 0; i < 40; i++) {
        const id = s.id();
        const r = s.rt(['run', '-b', b, id]);
        if (r.status === 0) started++;
        else {
          expect(r.stderr, `run ${i}`).toMatch(/possibly malicious path|no such file|not a directory|is a directory|file exists/i);
          expect(s.status(id)).toBeUndefined();
        }
        await new Promise((res) => setImmediate(res));
      }
    } finally {
      swapper.kill('SIGKILL');
    }
    const landed = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
    rmSync(log, { force: true });
    expect(started).toBeGreaterThan(0);
    expect(landed.length).toBeGreaterThan(0);
    for (const where of landed) expect(where.startsWith(`${rootfs}/`), `a mount landed at ${where}`).toBe(true);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(tag);
    expect(readFileSync(join(host, 'host-marker'), 'utf8')).toBe('host\n');
  });

  // CVE-2024-21626: a host directory fd leaked into the container and a cwd of
  // /proc/self/fd/N put the process outside its root.
  it('CVE-2024-21626: init and exec processes have only stdio open', () => {
    const list = 'ls /proc/self/fd | sort -n | tr "\\n" " "';
    const r = s.rt(['run', '-b', s.bundle({ args: ['sh', '-c', list] }), s.id()]);
    // 3 is ls's own directory handle.
    expect(r.stdout.trim()).toBe('0 1 2 3');
    const cid = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '30'] }), cid], { files: true }).status).toBe(0);
    expect(s.rt(['exec', cid, 'sh', '-c', list]).stdout.trim()).toBe('0 1 2 3');
  });

  it('CVE-2024-21626: a cwd of /proc/self/fd/N is refused or stays inside the container', () => {
    const host = s.tempDir();
    writeFileSync(join(host, 'marker'), 'host\n');
    // From a cwd outside the root, `..` climbs to the host's real root and finds the marker.
    const probe = `test -e ../../../../../../../../..${host}/marker && echo ESCAPED; echo probed`;
    for (let fd = 3; fd < 12; fd++) {
      const r = s.rt(['run', '-b', s.bundle({ args: ['sh', '-c', probe], edit: (c) => (c.process.cwd = `/proc/self/fd/${fd}`) }), s.id()]);
      expect(r.stdout).not.toContain('ESCAPED');
      if (r.status === 0) expect(r.stdout).toBe('probed\n');
    }
    const cid = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '30'] }), cid], { files: true }).status).toBe(0);
    for (let fd = 3; fd < 12; fd++) {
      const r = s.rt(['exec', '--cwd', `/proc/self/fd/${fd}`, cid, 'sh', '-c', probe]);
      expect(r.stdout).not.toContain('ESCAPED');
    }
  });

  // maskedPaths must hold however a path is reached: through a symlink to it, and
  // for an entry that is itself a symlink (resolved inside the container, never
  // onto the host).
  it('a masked path cannot be read through a symlink, and a symlinked entry masks inside the rootfs', () => {
    const host = s.tempDir();
    writeFileSync(join(host, 'hostfile'), 'host-secret\n');
    const b = s.bundle({
      args: [
        'sh',
        '-c',
        'wc -c < /timer-link; cat /secret-link; cat /data/secret.txt; cat /hostlink 2>&1 | head -c 0; echo end',
      ],
      edit: (c) => {
        c.linux.maskedPaths.push('/secret-link', '/hostlink');
      },
    });
    const rootfs = join(b, 'rootfs');
    symlinkSync('/proc/timer_list', join(rootfs, 'timer-link'));
    mkdirSync(join(rootfs, 'data'));
    writeFileSync(join(rootfs, 'data', 'secret.txt'), 'container-secret\n');
    symlinkSync('/data/secret.txt', join(rootfs, 'secret-link'));
    symlinkSync(join(host, 'hostfile'), join(rootfs, 'hostlink'));
    const r = s.rt(['run', '-b', b, s.id()]);
    expect(r.stderr).toBe('');
    // /proc/timer_list is masked (empty) through the link; the symlinked entry masks its target.
    expect(r.stdout).toBe('0\nend\n');
    // The host file behind the absolute symlink was never masked or touched.
    expect(readFileSync(join(host, 'hostfile'), 'utf8')).toBe('host-secret\n');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(host);
  });
});
