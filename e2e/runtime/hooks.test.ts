// OCI hooks: when each kind runs, in which namespaces, with what args, env and
// state on stdin; timeouts; and the failure rules (create-time hooks abort and
// clean up, poststart/poststop failures are only logged).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, isBerth, suite } from './rt.js';

/** A host shell script that appends one JSON-ish line: its kind, $1, an env var, the mount/pid namespaces and the state it read. */
function recorder(dir: string, log: string): string {
  const path = join(dir, 'hook.sh');
  writeFileSync(
    path,
    `#!/bin/sh
state=$(cat)
printf '%s|%s|%s|%s|%s\\n' "$1" "$HOOKVAR" "$(readlink /proc/self/ns/mnt)" "$(readlink /proc/self/ns/pid)" "$state" >> ${log}
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** Processes rooted in the bundle's rootfs, cgroups named after the container, mounts under the bundle. */
function leftovers(cid: string, bundle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readlinkSync(`/proc/${pid}/root`).startsWith(bundle)) out.push(`process ${pid}`);
    } catch {}
  }
  for (const ctrl of ['pids', 'memory', 'cpu,cpuacct', 'freezer']) {
    const r = spawnSync('find', [`/sys/fs/cgroup/${ctrl}`, '-name', `*${cid}*`], { encoding: 'utf8' });
    if (r.stdout.trim()) out.push(`cgroup ${r.stdout.trim()}`);
  }
  if (readFileSync('/proc/self/mountinfo', 'utf8').includes(bundle)) out.push('mount');
  return out;
}

interface Line {
  kind: string;
  env: string;
  mnt: string;
  pidns: string;
  state: any;
}

function lines(log: string): Line[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [kind, env, mnt, pidns, ...rest] = l.split('|');
      return { kind, env, mnt, pidns, state: JSON.parse(rest.join('|')) };
    });
}

describe.skipIf(!canRun)('hooks', () => {
  const s = suite('hooks');
  const hostMnt = readlinkSync('/proc/self/ns/mnt');
  const hostPid = readlinkSync('/proc/self/ns/pid');

  it('runs every kind at its moment, in its namespaces, with args, env and the state on stdin', async () => {
    const dir = s.tempDir();
    const log = join(dir, 'hooks.log');
    const hook = recorder(dir, log);
    const h = (kind: string) => [{ path: hook, args: ['hook.sh', kind], env: [`HOOKVAR=${kind}-env`] }];
    const b = s.bundle({
      args: ['cat', '/dev/shm/start.log'],
      edit: (c) => {
        c.hooks = {
          prestart: h('prestart'),
          createRuntime: h('createRuntime'),
          createContainer: h('createContainer'),
          // Resolved inside the container (after pivot_root): the script is in the rootfs.
          startContainer: [{ path: '/start-hook.sh', args: ['start-hook.sh', 'startContainer'] }],
          poststart: h('poststart'),
          poststop: h('poststop'),
        };
      },
    });
    writeFileSync(join(b, 'rootfs', 'start-hook.sh'), '#!/bin/sh\n{ echo "$1"; readlink /proc/self/ns/mnt; cat; } > /dev/shm/start.log\n');
    chmodSync(join(b, 'rootfs', 'start-hook.sh'), 0o755);
    const cid = s.id();
    const created = s.rt(['create', '-b', b, cid], { files: true });
    expect(created.stderr).toBe('');
    const pid = JSON.parse(s.rt(['state', cid]).stdout).pid;
    const initMnt = readlinkSync(`/proc/${pid}/ns/mnt`);
    const initPidNs = readlinkSync(`/proc/${pid}/ns/pid_for_children`);
    // runc 1.1.5 (Debian's) runs poststart already during `create`, against runtime.md
    // (after the start operation); berth follows the spec, so only berth is held to it here.
    let got = lines(log).filter((l) => isBerth || l.kind !== 'poststart');
    expect(got.map((l) => l.kind)).toEqual(['prestart', 'createRuntime', 'createContainer']);
    for (const l of got) {
      expect(l.env).toBe(`${l.kind}-env`);
      expect(l.state.id).toBe(cid);
      // runc 1.1.5 gives createContainer the pid as seen in the container (1); the
      // spec's state pid is the host's, which berth passes to every hook.
      if (isBerth || l.kind !== 'createContainer') expect(l.state.pid).toBe(pid);
      expect(l.state.bundle).toBe(b);
    }
    // runtime-tools' hooks_stdin wants prestart to see "created"; runc 1.1.5 passes "creating".
    if (isBerth) expect(got[0].state.status).toBe('created');
    expect(got[1].state.status).toBe('creating');
    // prestart and createRuntime in the runtime's namespaces, createContainer in the container's.
    expect(got[0].mnt).toBe(hostMnt);
    expect(got[1].mnt).toBe(hostMnt);
    expect(got[0].pidns).toBe(hostPid);
    expect(got[2].mnt).toBe(initMnt);
    expect(got[2].pidns).toBe(initPidNs);
    expect(s.rt(['start', cid]).status).toBe(0);
    got = lines(log);
    expect(got.map((l) => l.kind)).toEqual(['prestart', 'createRuntime', 'createContainer', 'poststart']);
    expect(got[3].mnt).toBe(hostMnt);
    if (isBerth) expect(got[3].state.status).toBe('running'); // runc ran it at create (above)
    expect(await s.waitStatus(cid, 'stopped')).toBe('stopped');
    expect(s.rt(['delete', cid]).status).toBe(0);
    got = lines(log);
    expect(got.map((l) => l.kind).at(-1)).toBe('poststop');
    expect(got.at(-1)!.state.id).toBe(cid);
    expect(got.at(-1)!.state.status).toBe('stopped');
    // startContainer ran in the container (its mount namespace), before the process.
    const out = readFileSync(join(dir, 'hooks.log'), 'utf8');
    expect(out).not.toMatch(/startContainer/);
  });

  it('startContainer runs inside the container before the process starts', () => {
    const b = s.bundle({
      args: ['sh', '-c', 'cat /dev/shm/start.log'],
      edit: (c) => {
        c.hooks = { startContainer: [{ path: '/start-hook.sh', args: ['start-hook.sh', 'arg-one'], env: ['V=in-env'] }] };
      },
    });
    writeFileSync(join(b, 'rootfs', 'start-hook.sh'), '#!/bin/sh\nstate=$(cat)\necho "$1 $V $(hostname)" > /dev/shm/start.log\necho "$state" | grep -q \'"id"\' && echo has-state >> /dev/shm/start.log\n');
    chmodSync(join(b, 'rootfs', 'start-hook.sh'), 0o755);
    const r = s.rt(['run', '-b', b, s.id()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('arg-one in-env berth\nhas-state\n');
  });

  it.each(['prestart', 'createRuntime', 'createContainer'])('a failing %s hook aborts create and leaves nothing behind', (kind) => {
    const dir = s.tempDir();
    const fail = join(dir, 'fail.sh');
    writeFileSync(fail, '#!/bin/sh\necho hook-said-no >&2\nexit 3\n');
    chmodSync(fail, 0o755);
    const cid = s.id();
    const b = s.bundle({ args: ['true'], edit: (c) => (c.hooks = { [kind]: [{ path: fail }] }) });
    const r = s.rt(['create', '-b', b, cid], { files: true });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/exit status 3/);
    expect(s.status(cid)).toBeUndefined();
    expect(existsSync(join(s.root, cid))).toBe(false);
    expect(leftovers(cid, b)).toEqual([]);
  });

  it('a hook over its timeout is killed and fails create', () => {
    const dir = s.tempDir();
    const slow = join(dir, 'slow.sh');
    writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(slow, 0o755);
    const cid = s.id();
    const b = s.bundle({ args: ['true'], edit: (c) => (c.hooks = { createRuntime: [{ path: slow, timeout: 1 }] }) });
    const r = s.rt(['create', '-b', b, cid], { files: true });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/timed out|timeout/i);
    expect(existsSync(join(s.root, cid))).toBe(false);
  });

  // Skipped for runc 1.1.5: it runs poststart during `create` and fails create when
  // it fails, where runtime.md says poststart follows start and its failure is a warning.
  it.skipIf(!isBerth)('failing poststart and poststop hooks are only warnings', async () => {
    const dir = s.tempDir();
    const fail = join(dir, 'fail.sh');
    writeFileSync(fail, '#!/bin/sh\nexit 4\n');
    chmodSync(fail, 0o755);
    const cid = s.id();
    const b = s.bundle({ args: ['true'], edit: (c) => (c.hooks = { poststart: [{ path: fail }], poststop: [{ path: fail }] }) });
    expect(s.rt(['create', '-b', b, cid], { files: true }).status).toBe(0);
    const started = s.rt(['start', cid]);
    expect(started.status).toBe(0);
    expect(started.stderr).toMatch(/level=warn/);
    expect(await s.waitStatus(cid, 'stopped')).toBe('stopped');
    const deleted = s.rt(['delete', cid]);
    expect(deleted.status).toBe(0);
    expect(deleted.stderr).toMatch(/level=warn/);
    expect(s.status(cid)).toBeUndefined();
  });
});
