// User namespaces (issue 5) under real consumers: podman's --uidmap/--gidmap and
// containerd's `ctr run --uidmap/--gidmap` (a remapped snapshot), each with berth-runtime
// and with runc as the reference. The container's root must be root inside and the
// mapped id on the host: the uid_map, `id`, the init's host uid, an exec joining the
// same user namespace, and files written to a bind mount owned by the mapped id.
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import {
  canRunDropin,
  cgroupDirs,
  type Daemon,
  type InstalledRuntime,
  installRuntime,
  processesMatching,
  type Result,
  run,
  startContainerd,
  startDaemon,
  sweep,
  tempDir,
  uniqueId,
  waitFor,
  which,
} from './helpers.js';

// The container's 0 is the host's HOST_ID (the range the issue names).
const HOST_ID = 100000;
const SIZE = 65536;
const MAP = `0:${HOST_ID}:${SIZE}`;
const MAP_LINE = `0 ${HOST_ID} ${SIZE}`;

/** uid_map-style text with its column padding collapsed. */
const squeeze = (s: string): string[] =>
  s
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '));

function hostUid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'));
  return Number(line?.split(/\s+/)[1]);
}

/** A directory the mapped root owns, for a bind mount into the container. */
function sharedDir(parent: string): string {
  const d = join(parent, `share-${readdirSync(parent).length}-${process.pid}`);
  mkdirSync(d);
  chmodSync(d, 0o755);
  chownSync(d, HOST_ID, HOST_ID);
  return d;
}

function owner(file: string): [number, number] {
  const st = statSync(file);
  return [st.uid, st.gid];
}

// What every exec prints: its map, its ids, whether it shares the init's user namespace.
const EXEC_SCRIPT = 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; test "$(readlink /proc/self/ns/user)" = "$(readlink /proc/1/ns/user)" && echo same-userns; touch /share/from-exec';

const podmanPresent = !!(which('podman') && which('conmon'));
const RUN_OPTS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--network', 'none'];

describe.skipIf(!canRunDropin || !podmanPresent)('user namespaces under podman (--uidmap/--gidmap)', () => {
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
  const podman = (rt: string, args: string[]): Result => run('podman', [...podmanArgs(), '--runtime', rt, ...args]);
  const maps = ['--uidmap', MAP, '--gidmap', MAP];

  beforeAll(() => {
    berth = installRuntime();
    dir = tempDir('podman-userns');
    chmodSync(dir, 0o755);
    const load = podman('runc', ['load', '-i', fixtures().dockerArchive]);
    expect(load.status, load.stderr).toBe(0);
  });

  afterAll(() => {
    if (dir) {
      for (const n of names) podman('runc', ['rm', '-f', '-t', '0', n]);
      podman('runc', ['system', 'prune', '-a', '-f']);
      rmSync(join(dir, 'root'), { recursive: true, force: true });
    }
    const left = dir ? sweep(dir, dir, ['libpod_parent/conmon', 'libpod_parent']) : [];
    berth?.remove();
    expect(left).toEqual([]);
  });

  // The stage runs berth-runtime's own script as the container's root: installed under a
  // directory only the host's root may enter, it must say so instead of failing inside Node.
  it.skipIf(!!process.env.BERTH_DROPIN_RUNTIME)('berth-runtime installed where the mapped root cannot reach it: a clear error, nothing left', () => {
    const hidden = installRuntime();
    try {
      const prefix = dirname(dirname(hidden.path));
      chmodSync(prefix, 0o700);
      const n = uniqueId('podus');
      names.add(n);
      const r = podman(hidden.path, ['run', '--rm', '--name', n, ...RUN_OPTS, ...maps, 'busybox', 'true']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`the container's root (host uid ${HOST_ID}, gid ${HOST_ID}) cannot enter ${prefix}`);
      expect(r.stderr).not.toContain('Cannot find module');
      // --rm removed the failed container; neither podman nor the runtime knows of it.
      const ids = podman('runc', ['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}}']).stdout;
      expect(ids).not.toContain(n);
      names.delete(n);
      const known = run(hidden.path, ['list', '-q']).stdout.split('\n').filter(Boolean);
      expect(known.filter((id) => ids.includes(id))).toEqual([]);
      expect(processesMatching(prefix)).toEqual([]);
    } finally {
      hidden.remove();
    }
  });

  describe.each([
    ['berth-runtime', () => berth.path],
    ['runc', () => 'runc'],
  ])('%s', (runtimeName, rt) => {
    it('podman run --uidmap: root inside, the mapped range in uid_map and gid_map', () => {
      const r = podman(rt(), ['run', '--rm', ...RUN_OPTS, ...maps, 'busybox', 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id']);
      expect(r.stderr).toBe('');
      expect(squeeze(r.stdout)).toEqual([MAP_LINE, MAP_LINE, 'uid=0(root) gid=0(root)']);
      expect(r.status).toBe(0);
    });

    it('the init is the mapped uid on the host; exec joins its user namespace; bind-mount files belong to the mapped id', async () => {
      const share = sharedDir(dir);
      const n = uniqueId('podus');
      names.add(n);
      const started = podman(rt(), ['run', '-d', '--name', n, ...RUN_OPTS, ...maps, '-v', `${share}:/share`, 'busybox', 'sh', '-c', 'touch /share/from-init; exec sleep 1000']);
      expect(started.status, started.stderr).toBe(0);
      const id = started.stdout.trim();
      const pid = Number(podman(rt(), ['inspect', '-f', '{{.State.Pid}}', n]).stdout.trim());
      expect(pid).toBeGreaterThan(0);
      if (runtimeName === 'berth-runtime' && berth.isBerth) {
        // conmon really ran berth-runtime (its default root): its state names the same init.
        const st = run(berth.path, ['state', id]);
        expect(st.status, st.stderr).toBe(0);
        expect(JSON.parse(st.stdout)).toMatchObject({ id, status: 'running', pid });
      }
      // The init's touch is done once it has exec'd sleep.
      await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'), 20_000, 'the init to exec sleep');
      expect(hostUid(pid)).toBe(HOST_ID);
      expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync('/proc/self/ns/user'));
      expect(squeeze(readFileSync(`/proc/${pid}/uid_map`, 'utf8'))).toEqual([MAP_LINE]);

      const e = podman(rt(), ['exec', n, 'sh', '-c', `${EXEC_SCRIPT}; exit 4`]);
      expect(e.stderr).toBe('');
      expect(squeeze(e.stdout)).toEqual([MAP_LINE, MAP_LINE, '0', '0', 'same-userns']);
      expect(e.status).toBe(4);
      expect(owner(join(share, 'from-init'))).toEqual([HOST_ID, HOST_ID]);
      expect(owner(join(share, 'from-exec'))).toEqual([HOST_ID, HOST_ID]);

      // podman 4.3 with --uidmap now and then fails `rm` unmounting the container's shm
      // with EBUSY while its own cleanup is still running, whatever the runtime (seen with
      // runc and berth-runtime alike); a later rm succeeds, and must.
      const stopped = podman(rt(), ['stop', '-t', '0', n]);
      expect(stopped.status, stopped.stderr).toBe(0);
      await waitFor(() => processesMatching(id).length === 0, 20_000, `the processes of ${id} to end`);
      let removed = podman(rt(), ['rm', n]);
      for (let i = 0; i < 20 && removed.status !== 0 && removed.stderr.includes('device or resource busy'); i++) {
        await new Promise((r) => setTimeout(r, 250));
        removed = podman(rt(), ['rm', n]);
      }
      expect(removed.status, removed.stderr).toBe(0);
      names.delete(n);
      expect(cgroupDirs(`libpod_parent/libpod-${id}`)).toEqual([]);
    });
  });
});

const IMAGE = 'docker.io/library/busybox:latest';
const containerdPresent = !!(which('containerd') && which('ctr') && which('containerd-shim-runc-v2'));
// containerd-shim-runc-v2's default runtime root: ctr run --uidmap ignores --runc-root (below).
const SHIM_RUNC_ROOT = '/run/containerd/runc';

// ctr 1.6 turns --uidmap/--gidmap into task options (IoUid/IoGid), and the shim then takes
// the task's options instead of the container's, so --runc-binary and --runc-root are
// silently dropped and plain `runc` runs. The runtime under test is therefore installed
// as `runc` on the PATH of a containerd (and its shims) of its own; the runtime's state
// under the shim's default root shows which runtime really ran.
describe.skipIf(!canRunDropin || !containerdPresent)('user namespaces under containerd (ctr run --uidmap/--gidmap)', () => {
  let berth: InstalledRuntime;

  beforeAll(() => {
    berth = installRuntime();
  });
  afterAll(() => berth?.remove());

  describe.each([
    ['berth-runtime', () => berth.path],
    ['runc', () => which('runc') ?? 'runc'],
  ])('%s', (name, rt) => {
    let dir: string;
    let address: string;
    let ns: string;
    let containerd: Daemon | undefined;

    const ctr = (args: string[]): Result => run('ctr', ['-a', address, '-n', ns, ...args]);
    const maps = ['--uidmap', MAP, '--gidmap', MAP];
    const stateRoot = (): string => join(SHIM_RUNC_ROOT, ns);

    beforeAll(async () => {
      dir = tempDir('containerd-userns');
      // The mapped root must reach the rootfs (under state/) and the `runc` below.
      chmodSync(dir, 0o755);
      ns = uniqueId('ctdus');
      const bin = join(dir, 'bin');
      mkdirSync(bin, { mode: 0o755 });
      symlinkSync(rt(), join(bin, 'runc'));
      address = join(dir, 'containerd.sock');
      containerd = (await startContainerd(dir, { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` })).daemon;
      const imp = ctr(['images', 'import', '--all-platforms', fixtures().ociArchive]);
      expect(imp.status, imp.stderr).toBe(0);
    });

    afterAll(async () => {
      if (containerd) {
        for (const id of ctr(['tasks', 'ls', '-q']).stdout.split('\n').filter(Boolean)) ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
        for (const id of ctr(['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
          ctr(['tasks', 'rm', '-f', id]);
          ctr(['containers', 'rm', id]);
        }
        await containerd.stop();
      }
      const left = dir ? sweep(dir, address, [ns]) : [];
      // The runtime's state dir for this namespace must be empty: every container was deleted.
      let states: string[] = [];
      if (ns && existsSync(stateRoot())) {
        states = readdirSync(stateRoot());
        rmSync(stateRoot(), { recursive: true, force: true });
      }
      expect(left).toEqual([]);
      expect(states).toEqual([]);
    });

    it('ctr run --uidmap: root inside, the mapped range in uid_map and gid_map', () => {
      const id = uniqueId('ctdus');
      const r = ctr(['run', '--rm', ...maps, IMAGE, id, 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; exit 3']);
      expect(r.stderr).toBe('');
      expect(squeeze(r.stdout)).toEqual([MAP_LINE, MAP_LINE, '0', '0']);
      expect(r.status).toBe(3);
      expect(ctr(['containers', 'ls', '-q']).stdout).not.toContain(id);
    });

    it('the init is the mapped uid on the host; ctr task exec joins its user namespace; bind-mount files belong to the mapped id', async () => {
      const share = sharedDir(dir);
      const id = uniqueId('ctdus');
      const mount = ['--mount', `type=bind,src=${share},dst=/share,options=rbind:rw`];
      const started = ctr(['run', '-d', ...maps, ...mount, IMAGE, id, 'sh', '-c', 'touch /share/from-init; exec sleep 1000']);
      expect(started.status, started.stderr).toBe(0);
      try {
        const tasks = ctr(['tasks', 'ls']).stdout;
        expect(tasks).toMatch(new RegExp(`${id}\\s+\\d+\\s+RUNNING`));
        const pid = Number(tasks.split('\n').find((l) => l.startsWith(id))?.split(/\s+/)[1]);
        // The runtime under test made it: its own `state` finds it (runc and berth-runtime keep different state files).
        const st = run(rt(), ['--root', stateRoot(), 'state', id]);
        expect(st.status, st.stderr).toBe(0);
        expect(JSON.parse(st.stdout)).toMatchObject({ id, status: 'running', pid });
        if (name === 'berth-runtime' && berth.isBerth) expect(run('runc', ['--root', stateRoot(), 'state', id]).status).not.toBe(0);

        await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'), 20_000, 'the init to exec sleep');
        expect(hostUid(pid)).toBe(HOST_ID);
        expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync('/proc/self/ns/user'));
        expect(squeeze(readFileSync(`/proc/${pid}/gid_map`, 'utf8'))).toEqual([MAP_LINE]);

        const e = ctr(['tasks', 'exec', '--exec-id', 'e1', id, 'sh', '-c', `${EXEC_SCRIPT}; exit 4`]);
        expect(e.stderr).toBe('');
        expect(squeeze(e.stdout)).toEqual([MAP_LINE, MAP_LINE, '0', '0', 'same-userns']);
        expect(e.status).toBe(4);
        expect(owner(join(share, 'from-init'))).toEqual([HOST_ID, HOST_ID]);
        expect(owner(join(share, 'from-exec'))).toEqual([HOST_ID, HOST_ID]);
      } finally {
        ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
        await waitFor(() => /STOPPED/.test(ctr(['tasks', 'ls']).stdout.split('\n').find((l) => l.startsWith(id)) ?? 'STOPPED'), 20_000, `${id} to stop`);
        expect(ctr(['tasks', 'rm', id]).status).toBe(0);
        expect(ctr(['containers', 'rm', id]).status).toBe(0);
      }
      expect(processesMatching(id)).toEqual([]);
      expect(run(rt(), ['--root', stateRoot(), 'list', '-q']).stdout).not.toContain(id);
    });
  });
});

const dockerCli = which('/usr/local/bin/docker') ?? which('docker');
const dockerPresent = !!(which('dockerd') && dockerCli && which('useradd') && which('userdel'));
// dockerd's remap range: a dedicated user, created for the suite and deleted after it.
const REMAP_ID = 300000;
const REMAP_LINE = `0 ${REMAP_ID} ${SIZE}`;

/** Removes the lines of `user` from /etc/subuid or /etc/subgid, keeping everything else. */
function dropSubordinate(file: string, user: string): void {
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const kept = text.split('\n').filter((l) => !l.startsWith(`${user}:`));
  if (kept.join('\n') !== text) writeFileSync(file, kept.join('\n'));
}

describe.skipIf(!canRunDropin || !dockerPresent)('user namespaces under dockerd (--userns-remap)', () => {
  let dir: string;
  let sock: string;
  let cgroupParent: string;
  let env: NodeJS.ProcessEnv;
  let dockerd: Daemon | undefined;
  let berth: InstalledRuntime;
  let user: string | undefined;
  const names = new Set<string>();
  const docker = (args: string[]): Result => run(dockerCli!, args, { env });

  beforeAll(async () => {
    berth = installRuntime();
    dir = tempDir('dockerd-userns');
    chmodSync(dir, 0o755);
    sock = join(dir, 'docker.sock');
    cgroupParent = `/dropin-dockerus-${process.pid}`;
    env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'client') };
    const name = `dropin-us${process.pid}`;
    const add = run('useradd', ['-r', '-M', '-s', '/usr/sbin/nologin', name]);
    expect(add.status, add.stderr).toBe(0);
    user = name;
    for (const f of ['/etc/subuid', '/etc/subgid']) {
      const text = existsSync(f) ? readFileSync(f, 'utf8') : '';
      writeFileSync(f, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${name}:${REMAP_ID}:${SIZE}\n`);
    }
    writeFileSync(join(dir, 'daemon.json'), '{}\n');
    dockerd = await startDaemon(
      'dockerd',
      [
        '--config-file', join(dir, 'daemon.json'),
        '--data-root', join(dir, 'data'),
        '--exec-root', join(dir, 'exec'),
        '-H', `unix://${sock}`,
        '--pidfile', join(dir, 'docker.pid'),
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        '--cgroup-parent', cgroupParent,
        '--add-runtime', `berth=${berth.path}`,
        '--userns-remap', name,
      ],
      join(dir, 'dockerd.log'),
      () => existsSync(sock) && run(dockerCli!, ['version'], { env, timeout: 5000 }).status === 0,
      'dockerd',
    );
    const load = docker(['load', '-i', fixtures().dockerArchive]);
    expect(load.status, load.stderr).toBe(0);
  });

  afterAll(async () => {
    if (dockerd) {
      for (const n of names) docker(['rm', '-f', n]);
      await dockerd.stop(30_000);
    }
    const left = dir ? sweep(dir, dir, cgroupParent ? [cgroupParent.slice(1)] : []) : [];
    berth?.remove();
    if (user) {
      run('userdel', [user]);
      dropSubordinate('/etc/subuid', user);
      dropSubordinate('/etc/subgid', user);
    }
    expect(left).toEqual([]);
    if (user) {
      expect(readFileSync('/etc/passwd', 'utf8')).not.toContain(`${user}:`);
      expect(readFileSync('/etc/subuid', 'utf8')).not.toContain(`${user}:`);
    }
  });

  describe.each([
    ['berth', 'berth-runtime'],
    ['runc', 'runc'],
  ])('--runtime %s', (runtime, runtimeName) => {
    it('docker run: root inside, the remapped range in uid_map and gid_map', () => {
      const r = docker(['run', '--rm', '--runtime', runtime, 'busybox', 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; exit 3']);
      expect(r.stderr).toBe('');
      expect(squeeze(r.stdout)).toEqual([REMAP_LINE, REMAP_LINE, '0', '0']);
      expect(r.status).toBe(3);
    });

    it('the init is the remapped uid on the host; docker exec joins its user namespace', () => {
      const n = uniqueId('dkdus');
      names.add(n);
      const started = docker(['run', '-d', '--name', n, '--runtime', runtime, 'busybox', 'sleep', '1000']);
      expect(started.status, started.stderr).toBe(0);
      const id = started.stdout.trim();
      expect(docker(['inspect', '-f', '{{.HostConfig.Runtime}}', n]).stdout.trim()).toBe(runtime);
      const pid = Number(docker(['inspect', '-f', '{{.State.Pid}}', n]).stdout.trim());
      expect(hostUid(pid)).toBe(REMAP_ID);
      expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync('/proc/self/ns/user'));
      if (runtimeName === 'berth-runtime' && berth.isBerth) {
        // dockerd keeps runtime state under its exec-root; berth-runtime's own `state` reads it.
        const execRoot = join(dir, 'exec');
        const roots = readdirSync(execRoot).filter((d) => d.startsWith('runtime-')).map((d) => join(execRoot, d, 'moby'));
        const root = roots.find((r) => existsSync(join(r, id)));
        expect(root, `no runtime state for ${id}`).toBeDefined();
        const st = run(berth.path, ['--root', root!, 'state', id]);
        expect(st.status, st.stderr).toBe(0);
        expect(JSON.parse(st.stdout)).toMatchObject({ id, status: 'running', pid });
      }

      const e = docker(['exec', n, 'sh', '-c', 'cat /proc/self/uid_map; id -u; test "$(readlink /proc/self/ns/user)" = "$(readlink /proc/1/ns/user)" && echo same-userns; exit 4']);
      expect(e.stderr).toBe('');
      expect(squeeze(e.stdout)).toEqual([REMAP_LINE, '0', 'same-userns']);
      expect(e.status).toBe(4);

      expect(docker(['rm', '-f', n]).status).toBe(0);
      names.delete(n);
      expect(processesMatching(id)).toEqual([]);
    });
  });
});
