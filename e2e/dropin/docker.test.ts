// berth-runtime as a runtime of dockerd (Debian's docker.io, through its own
// containerd and containerd-shim-runc-v2): `dockerd --add-runtime berth=<path>` and
// `docker run --runtime berth` for run, exec -it, stop, rm, logs, --memory,
// --pids-limit, --cap-drop ALL and --security-opt seccomp. Each case also runs with
// runc (dockerd's default runtime) as the reference. The client is the docker 28
// CLI in /usr/local/bin; dockerd runs on its own data-root, exec-root, socket,
// pidfile and cgroup parent, with no bridge or iptables, and is stopped by PID.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import {
  canRunDropin,
  type Daemon,
  type InstalledRuntime,
  inTerminal,
  installRuntime,
  processesMatching,
  type Result,
  run,
  sh,
  startDaemon,
  sweep,
  tempDir,
  uniqueId,
  waitFor,
  which,
} from './helpers.js';

const dockerCli = which('/usr/local/bin/docker') ?? which('docker');
const present = !!(which('dockerd') && dockerCli);
if (!present) console.warn('dockerd drop-in suite skipped: dockerd or the docker client is not installed (apt-get install docker.io)');

describe.skipIf(!canRunDropin || !present)('berth-runtime under dockerd (--add-runtime berth)', () => {
  let dir: string;
  let sock: string;
  let execRoot: string;
  let cgroupParent: string;
  let env: NodeJS.ProcessEnv;
  let dockerd: Daemon | undefined;
  let berth: InstalledRuntime;
  const names = new Set<string>();

  const docker = (args: string[], input?: string): Result => run(dockerCli!, args, { input, env });
  const dockerLine = (args: string[]): string => [dockerCli!, ...args].map(sh).join(' ');
  const name = (): string => {
    const n = uniqueId('dkd');
    names.add(n);
    return n;
  };
  const inspect = (n: string, fmt: string): string => docker(['inspect', '-f', fmt, n]).stdout.trim();

  beforeAll(async () => {
    berth = installRuntime();
    dir = tempDir('dockerd');
    sock = join(dir, 'docker.sock');
    execRoot = join(dir, 'exec');
    cgroupParent = `/dropin-docker-${process.pid}`;
    env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'client') };
    writeFileSync(join(dir, 'daemon.json'), '{}\n');
    dockerd = await startDaemon(
      'dockerd',
      [
        '--config-file', join(dir, 'daemon.json'),
        '--data-root', join(dir, 'data'),
        '--exec-root', execRoot,
        '-H', `unix://${sock}`,
        '--pidfile', join(dir, 'docker.pid'),
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        '--cgroup-parent', cgroupParent,
        '--add-runtime', `berth=${berth.path}`,
      ],
      join(dir, 'dockerd.log'),
      () => existsSync(sock) && run(dockerCli!, ['version'], { env, timeout: 5000 }).status === 0,
      'dockerd',
    );
    const load = docker(['load', '-i', fixtures().dockerArchive]);
    expect(load.status, load.stderr).toBe(0);
    expect(load.stdout).toContain('busybox:latest');
  });

  afterAll(async () => {
    if (dockerd) {
      for (const n of names) docker(['rm', '-f', n]);
      await dockerd.stop(30_000);
    }
    const left = dir ? sweep(dir, dir, cgroupParent ? [cgroupParent.slice(1)] : []) : [];
    berth?.remove();
    expect(left).toEqual([]);
  });

  describe.each([
    ['berth', 'berth-runtime'],
    ['runc', 'runc'],
  ])('--runtime %s', (runtime, runtimeName) => {
    it('docker run prints the output and returns the exit status', () => {
      const r = docker(['run', '--rm', '--runtime', runtime, 'busybox', 'sh', '-c', 'echo out as pid $$; echo err >&2; exit 3']);
      expect(r.stdout).toBe('out as pid 1\n');
      expect(r.stderr).toBe('err\n');
      expect(r.status).toBe(3);
    });

    it('exec, exec -it, logs, stop and rm on a detached container', async () => {
      const n = name();
      const script = 'echo started; echo to-stderr >&2; trap "echo got-term; exit 0" TERM; while true; do sleep 0.1; done';
      const started = docker(['run', '-d', '--name', n, '--runtime', runtime, 'busybox', 'sh', '-c', script]);
      expect(started.status, started.stderr).toBe(0);
      const id = started.stdout.trim();
      expect(inspect(n, '{{.HostConfig.Runtime}}')).toBe(runtime);
      const pid = Number(inspect(n, '{{.State.Pid}}'));
      if (runtimeName === 'berth-runtime' && berth.isBerth) {
        // dockerd keeps runtime state under its exec-root; berth-runtime's own `state` reads it.
        const roots = readdirSync(execRoot).filter((d) => d.startsWith('runtime-')).map((d) => join(execRoot, d, 'moby'));
        const root = roots.find((r) => existsSync(join(r, id)));
        expect(root, `no runtime state for ${id} under ${execRoot}`).toBeDefined();
        const st = run(berth.path, ['--root', root!, 'state', id]);
        expect(st.status, st.stderr).toBe(0);
        expect(JSON.parse(st.stdout)).toMatchObject({ id, status: 'running', pid });
      }

      const e = docker(['exec', n, 'sh', '-c', 'echo exec-out; cat /proc/1/cmdline | tr "\\0" " "; exit 4']);
      expect(e.stdout).toBe(`exec-out\nsh -c ${script} `);
      expect(e.status).toBe(4);

      const t = inTerminal(dockerLine(['exec', '-it', n, 'sh', '-c', 'tty; test -t 0 && echo stdin-is-tty; exit 7']), env);
      expect(t.stdout).toMatch(/\/dev\/pts\/\d+\r*\n/);
      expect(t.stdout).toContain('stdin-is-tty');
      expect(t.status).toBe(7);

      await waitFor(() => docker(['logs', n]).stdout.includes('started'), 20_000, 'the first log line');
      const stop = docker(['stop', '-t', '20', n]);
      expect(stop.status, stop.stderr).toBe(0);
      expect(inspect(n, '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 0');
      const logs = docker(['logs', n]);
      expect(logs.stdout).toBe('started\ngot-term\n');
      expect(logs.stderr).toBe('to-stderr\n');

      expect(docker(['rm', n]).status).toBe(0);
      expect(docker(['ps', '-a', '-q', '--no-trunc']).stdout).not.toContain(id);
      expect(processesMatching(id)).toEqual([]);
    });

    it('stop kills a process that ignores SIGTERM, and rm -f removes a running container', () => {
      const a = name();
      // A pid-namespace init with no handler never sees SIGTERM: docker stop falls back to SIGKILL.
      expect(docker(['run', '-d', '--name', a, '--runtime', runtime, 'busybox', 'sleep', '1000']).status).toBe(0);
      expect(docker(['stop', '-t', '1', a]).status).toBe(0);
      expect(inspect(a, '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 137');
      expect(docker(['rm', a]).status).toBe(0);

      const b = name();
      const started = docker(['run', '-d', '--name', b, '--runtime', runtime, 'busybox', 'sleep', '1000']);
      const id = started.stdout.trim();
      expect(inspect(b, '{{.State.Running}}')).toBe('true');
      expect(docker(['rm', '-f', b]).status).toBe(0);
      expect(docker(['ps', '-a', '-q', '--no-trunc']).stdout).not.toContain(id);
      expect(processesMatching(id)).toEqual([]);
    });

    it('--memory 64m and --pids-limit are set on the container cgroup and enforced', async () => {
      const n = name();
      // Everything runs in the init: a `docker exec` into a pids cgroup with no room left
      // fails for runc and berth-runtime alike (their exec stages are multi-threaded). The
      // subshell exits on its first failed fork; the init then execs, so it forks no more.
      const script =
        'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; (for i in 1 2 3 4 5 6 7 8; do sleep 1000 & done; wait); echo forked; exec sleep 1000';
      const started = docker(['run', '-d', '--name', n, '--runtime', runtime, '--memory', '64m', '--pids-limit', '5', 'busybox', 'sh', '-c', script]);
      expect(started.status, started.stderr).toBe(0);
      const id = started.stdout.trim();
      await waitFor(() => docker(['logs', n]).stdout.includes('forked'), 20_000, 'the forks');
      const logs = docker(['logs', n]);
      expect(logs.stdout).toBe(`${64 * 1024 * 1024}\n5\nforked\n`);
      // init + subshell + 3 sleeps reach the limit of 5, so the fourth sleep cannot fork.
      expect(logs.stderr).toContain("can't fork");
      // The same values on the host, in the cgroup dockerd asked for.
      expect(readFileSync(`/sys/fs/cgroup/memory${cgroupParent}/${id}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
      expect(readFileSync(`/sys/fs/cgroup/pids${cgroupParent}/${id}/pids.max`, 'utf8').trim()).toBe('5');
      expect(readFileSync(`/sys/fs/cgroup/pids${cgroupParent}/${id}/pids.current`, 'utf8').trim()).toBe('4');
      expect(docker(['rm', '-f', n]).status).toBe(0);
      expect(existsSync(`/sys/fs/cgroup/memory${cgroupParent}/${id}`)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/pids${cgroupParent}/${id}`)).toBe(false);
    });

    it('--cap-drop ALL leaves no capability; the default set is docker\'s', () => {
      const all = docker(['run', '--rm', '--runtime', runtime, '--cap-drop', 'ALL', 'busybox', 'grep', '^Cap', '/proc/self/status']);
      expect(all.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[1])).toEqual(Array(5).fill('0000000000000000'));
      // Docker's default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
      const def = docker(['run', '--rm', '--runtime', runtime, 'busybox', 'grep', '^CapEff', '/proc/self/status']);
      expect(def.stdout.split(/\s+/)[1]).toBe('00000000a80425fb');
    });

    it('--security-opt seccomp=<profile> makes a blocked syscall fail with the profile\'s errno', () => {
      const profile = join(dir, `seccomp-${runtime}.json`);
      writeFileSync(
        profile,
        JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }),
      );
      const r = docker(['run', '--rm', '--runtime', runtime, '--security-opt', `seccomp=${profile}`, 'busybox', 'sh', '-c', 'grep ^Seccomp: /proc/self/status; mkdir /tmp/x']);
      expect(r.stdout).toMatch(/^Seccomp:\s+2\n$/);
      expect(r.stderr).toContain('Permission denied');
      expect(r.status).toBe(1);
      // Without the option dockerd's default profile is applied (filter mode too).
      const d = docker(['run', '--rm', '--runtime', runtime, 'busybox', 'sh', '-c', 'grep ^Seccomp: /proc/self/status; mkdir /tmp/x && echo made']);
      expect(d.stdout).toMatch(/^Seccomp:\s+2\nmade\n$/);
    });
  });
});
