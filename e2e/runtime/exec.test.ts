// exec: a new process in every namespace and the cgroup of a running container.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, cgroupOf, isBerth, suite } from './rt.js';

describe.skipIf(!canRun)('exec', () => {
  const s = suite('exec');

  const running = (): { id: string; pid: number } => {
    const id = s.id();
    const r = s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '60'], edit: (c) => (c.hostname = 'rt-exec') }), id], { files: true });
    expect(r.status).toBe(0);
    return { id, pid: JSON.parse(s.rt(['state', id]).stdout).pid };
  };

  it('joins the namespaces of the container and returns the exit status', () => {
    const { id } = running();
    const r = s.rt(['exec', id, 'sh', '-c', 'hostname; cat /proc/1/cmdline | tr "\\0" " "; echo; for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done; exit 5']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(5);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('rt-exec');
    expect(lines[1].trim()).toBe('sleep 60');
    expect(lines.slice(2)).toHaveLength(6);
    for (const [i, n] of ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup'].entries()) {
      expect(lines[2 + i]).toBe(s.rt(['exec', id, 'readlink', `/proc/1/ns/${n}`]).stdout.trim());
    }
  });

  it('puts the process into the container cgroup', () => {
    const { id, pid } = running();
    const pidFile = join(s.tempDir(), 'pid');
    expect(s.rt(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '30'], { files: true }).status).toBe(0);
    const execPid = Number(readFileSync(pidFile, 'utf8'));
    expect(execPid).toBeGreaterThan(0);
    expect(cgroupOf(execPid)).toBe(cgroupOf(pid));
    expect(JSON.parse(s.rt(['ps', '--format', 'json', id]).stdout).sort()).toEqual([pid, execPid].sort());
  });

  // Berth only: runc itself (its Go runtime, once in the cgroup) aborts here at times
  // with "runtime/cgo: pthread_create failed: Resource temporarily unavailable".
  it.skipIf(!isBerth)('execs into a container whose pids limit leaves no room for the exec stage threads (issue 5)', () => {
    const id = s.id();
    const b = s.bundle({ args: ['sleep', '1000'], edit: (c) => (c.linux.resources = { ...c.linux.resources, pids: { limit: 5 } }) });
    expect(s.rt(['run', '-d', '-b', b, id], { files: true }).status).toBe(0);
    const init = JSON.parse(s.rt(['state', id]).stdout).pid;
    const r = s.rt(['exec', id, 'sh', '-c', 'echo ok; cat /proc/self/cgroup'], { timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [first, ...cgroups] = r.stdout.trim().split('\n');
    expect(first).toBe('ok');
    // Seen from the container's cgroup namespace, exactly the init's cgroups.
    const ofInit = s.rt(['exec', id, 'cat', '/proc/1/cgroup']);
    expect(ofInit.stderr).toBe('');
    const initCgroups = ofInit.stdout.trim().split('\n');
    expect(cgroups.find((l) => l.split(':')[1]?.split(',').includes('pids'))).toBeDefined();
    expect(cgroups).toEqual(initCgroups);
    // And from the host: the limit is the container's, and the init is under it.
    const pidsDir = cgroupOf(init);
    expect(pidsDir).toBeDefined();
    expect(readFileSync(join('/sys/fs/cgroup/pids', pidsDir!, 'pids.max'), 'utf8').trim()).toBe('5');
  });

  it('applies -e, --cwd, -u and --additional-gids', () => {
    const { id } = running();
    const r = s.rt(['exec', '-e', 'RT_X=1', '--cwd', '/tmp', '-u', '1000:100', '--additional-gids', '5', id, 'sh', '-c', 'echo $RT_X; pwd; id -u; id -g; id -G']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n/tmp\n1000\n100\n100 5\n');
  });

  it('runs a --process file', () => {
    const { id } = running();
    const file = join(s.tempDir(), 'process.json');
    writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'echo $A; pwd'], env: ['A=from-file', 'PATH=/bin:/usr/bin'], cwd: '/etc', user: { uid: 0, gid: 0 } }));
    const r = s.rt(['exec', '--process', file, id]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from-file\n/etc\n');
  });

  it('passes stdin through', () => {
    const { id } = running();
    expect(s.rt(['exec', id, 'cat'], { input: 'piped\n' }).stdout).toBe('piped\n');
  });

  it('fails cleanly on a stopped container', async () => {
    const { id } = running();
    s.rt(['kill', id, 'KILL']);
    await s.waitStatus(id, 'stopped');
    const r = s.rt(['exec', id, 'true']);
    expect(r.status).toBe(255);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
