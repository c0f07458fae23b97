// berth-runtime as podman's OCI runtime (Debian's podman, through conmon):
// `podman --runtime <berth-runtime> run`, exec (with and without -it), stop, logs
// and rm, on an image loaded locally from the fixture's docker archive. Each case
// also runs with runc as the reference. podman keeps everything in a temp dir
// (--root, --runroot, --tmpdir, its network config dir) and has no daemon.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import {
  canRunDropin,
  cgroupDirs,
  type InstalledRuntime,
  inTerminal,
  installRuntime,
  processesMatching,
  type Result,
  run,
  sh,
  sweep,
  tempDir,
  uniqueId,
  waitFor,
  which,
} from './helpers.js';

const present = !!(which('podman') && which('conmon'));
if (!present) console.warn('podman drop-in suite skipped: podman or conmon is not installed (apt-get install podman)');

// podman's default rlimits (nofile and nproc 1048576) exceed this VM's hard limits,
// and without CAP_SYS_RESOURCE runc refuses them too ("error setting rlimit type 7"):
// give every container limits the host can grant.
const RUN_OPTS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

describe.skipIf(!canRunDropin || !present)('berth-runtime under podman (--runtime)', () => {
  let dir: string;
  let berth: InstalledRuntime;
  const names = new Set<string>();
  const podmanArgs = (): string[] => [
    '--root', join(dir, 'root'),
    '--runroot', join(dir, 'runroot'),
    '--tmpdir', join(dir, 'tmp'),
    '--network-config-dir', join(dir, 'net'),
    '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'file',
    '--storage-driver', 'overlay',
  ];
  // No --runtime-flag root=…: podman passes runtime flags to create/start/exec but not to
  // its final `delete --force`, which would then miss the state; both runtimes use their default root.
  const podman = (rt: string, args: string[]): Result => run('podman', [...podmanArgs(), '--runtime', rt, ...args]);
  const podmanLine = (rt: string, args: string[]): string => ['podman', ...podmanArgs(), '--runtime', rt, ...args].map(sh).join(' ');
  const name = (): string => {
    const n = uniqueId('pod');
    names.add(n);
    return n;
  };

  beforeAll(() => {
    berth = installRuntime();
    dir = tempDir('podman');
    const load = podman('runc', ['load', '-i', fixtures().dockerArchive]);
    expect(load.status, load.stderr).toBe(0);
    expect(load.stdout).toContain('busybox:latest');
  });

  afterAll(() => {
    if (dir) {
      for (const n of names) podman('runc', ['rm', '-f', '-t', '0', n]);
      // c/storage keeps its overlay home mounted until told to let go.
      podman('runc', ['system', 'prune', '-a', '-f']);
      rmSync(join(dir, 'root'), { recursive: true, force: true });
    }
    const left = dir ? sweep(dir, dir, ['libpod_parent/conmon', 'libpod_parent']) : [];
    berth?.remove();
    expect(left).toEqual([]);
  });

  describe.each([
    ['berth-runtime', () => berth.path],
    ['runc', () => 'runc'],
  ])('%s', (runtimeName, rt) => {
    it('podman run prints the output and returns the exit status', () => {
      const r = podman(rt(), ['run', '--rm', '--network', 'none', ...RUN_OPTS, 'busybox', 'sh', '-c', 'echo out as pid $$; echo err >&2; exit 3']);
      expect(r.stdout).toBe('out as pid 1\n');
      expect(r.stderr).toBe('err\n');
      expect(r.status).toBe(3);
    });

    it('exec, exec -it, stop, logs and rm on a detached container', async () => {
      const n = name();
      const script = 'echo started; trap "echo got-term; exit 0" TERM; while true; do sleep 0.1; done';
      const started = podman(rt(), ['run', '-d', '--name', n, '--network', 'none', ...RUN_OPTS, 'busybox', 'sh', '-c', script]);
      expect(started.status, started.stderr).toBe(0);
      const id = started.stdout.trim();
      const pid = Number(podman(rt(), ['inspect', '-f', '{{.State.Pid}}', n]).stdout.trim());
      if (runtimeName === 'berth-runtime' && berth.isBerth) {
        // conmon ran berth-runtime with its default root; its state names the same init.
        const st = run(berth.path, ['state', id]);
        expect(st.status, st.stderr).toBe(0);
        expect(JSON.parse(st.stdout)).toMatchObject({ id, status: 'running', pid });
      }

      const e = podman(rt(), ['exec', n, 'sh', '-c', 'echo exec-out; cat /proc/1/cmdline | tr "\\0" " "; exit 4']);
      expect(e.stdout).toBe(`exec-out\nsh -c ${script} `);
      expect(e.status).toBe(4);

      const t = inTerminal(podmanLine(rt(), ['exec', '-it', n, 'sh', '-c', 'tty; test -t 0 && echo stdin-is-tty; exit 6']));
      expect(t.stdout).toMatch(/\/dev\/pts\/\d+\r*\n/);
      expect(t.stdout).toContain('stdin-is-tty');
      expect(t.status).toBe(6);

      await waitFor(() => podman(rt(), ['logs', n]).stdout.includes('started'), 20_000, 'the first log line');
      const stop = podman(rt(), ['stop', '-t', '20', n]);
      expect(stop.status, stop.stderr).toBe(0);
      expect(podman(rt(), ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', n]).stdout.trim()).toBe('exited 0');
      expect(podman(rt(), ['logs', n]).stdout).toBe('started\ngot-term\n');

      expect(podman(rt(), ['rm', n]).status).toBe(0);
      expect(podman(rt(), ['ps', '-a', '-q', '--no-trunc']).stdout).not.toContain(id);
      expect(processesMatching(id)).toEqual([]);
      expect(cgroupDirs(`libpod_parent/libpod-${id}`)).toEqual([]);
      if (runtimeName === 'berth-runtime' && berth.isBerth) expect(run(berth.path, ['state', id]).status).not.toBe(0);
    });

    // podman's default profile has two filtered rules for socket, which libseccomp can only
    // express per architecture (x86 maps socket onto socketcall): berth-runtime once failed
    // it with EEXIST.
    it('podman run with podman\'s default seccomp profile', () => {
      const r = podman(rt(), ['run', '--rm', '--network', 'none', ...RUN_OPTS, 'busybox', 'sh', '-c', 'grep ^Seccomp: /proc/self/status']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Seccomp:\s+2\n$/);
      expect(r.status).toBe(0);
    });
  });
});
