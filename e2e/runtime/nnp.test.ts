// noNewPrivileges (for init and exec) and the LSM fields on a kernel without
// AppArmor or SELinux (this VM has neither).
import { chmodSync, copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, isBerth, suite } from './rt.js';

const lsmEnabled = existsSync('/sys/module/apparmor/parameters/enabled') || existsSync('/sys/fs/selinux/enforce');

describe.skipIf(!canRun)('noNewPrivileges', () => {
  const s = suite('nnp');

  /** A bundle whose rootfs has /opt/grep: busybox, setuid root. */
  const suidBundle = (edit: (c: any) => void) => {
    const b = s.bundle({
      args: ['/opt/grep', '-E', '^(Uid|NoNewPrivs):', '/proc/self/status'],
      edit: (c) => {
        c.process.user = { uid: 1000, gid: 1000 };
        edit(c);
      },
    });
    mkdirSync(join(b, 'rootfs', 'opt'));
    copyFileSync(join(b, 'rootfs', 'bin', 'busybox'), join(b, 'rootfs', 'opt', 'grep'));
    chmodSync(join(b, 'rootfs', 'opt', 'grep'), 0o4755);
    return b;
  };

  it('with noNewPrivileges a setuid-root binary gains nothing; without it, it gains uid 0', () => {
    const on = s.rt(['run', '-b', suidBundle((c) => (c.process.noNewPrivileges = true)), s.id()]);
    expect(on.stderr).toBe('');
    expect(on.stdout).toBe('Uid:\t1000\t1000\t1000\t1000\nNoNewPrivs:\t1\n');
    const off = s.rt(['run', '-b', suidBundle((c) => (c.process.noNewPrivileges = false)), s.id()]);
    // busybox drops the effective uid at once, but the saved uid shows the setuid took effect.
    expect(off.stdout).toBe('Uid:\t1000\t1000\t0\t1000\nNoNewPrivs:\t0\n');
  });

  it('exec inherits the config setting, and --no-new-privs sets it for one exec', () => {
    const cid = s.id();
    const b = s.bundle({ args: ['sleep', '30'], edit: (c) => (c.process.noNewPrivileges = false) });
    expect(s.rt(['run', '-d', '-b', b, cid], { files: true }).status).toBe(0);
    expect(s.rt(['exec', cid, 'grep', 'NoNewPrivs', '/proc/self/status']).stdout).toBe('NoNewPrivs:\t0\n');
    expect(s.rt(['exec', '--no-new-privs', cid, 'grep', 'NoNewPrivs', '/proc/self/status']).stdout).toBe('NoNewPrivs:\t1\n');
  });
});

// runc 1.1.5 here fails all three label fields on this kernel: selinuxLabel at
// validation ("selinux label is specified in config, but selinux is disabled or not
// supported"), mountLabel when the kernel rejects `context=` on the /dev tmpfs, and
// apparmorProfile when writing /proc/self/attr/exec gives EINVAL. berth fails the
// same configs before anything starts, with the field named.
describe.skipIf(!canRun || lsmEnabled)('LSM labels without an LSM', () => {
  const s = suite('lsm');

  it.each([
    ['process.apparmorProfile', (c: any) => (c.process.apparmorProfile = 'berth-test-profile')],
    ['process.selinuxLabel', (c: any) => (c.process.selinuxLabel = 'system_u:system_r:container_t:s0:c1,c2')],
    ['linux.mountLabel', (c: any) => (c.linux.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2')],
  ])('%s makes create fail and leaves nothing behind', (field, edit) => {
    const cid = s.id();
    const r = s.rt(['run', '-b', s.bundle({ args: ['true'], edit }), cid]);
    expect(r.status).not.toBe(0);
    if (isBerth) {
      expect(r.stderr).toContain(`${field}: `);
      expect(r.stderr).toMatch(/is not enabled|disabled or not supported/);
    }
    expect(existsSync(join(s.root, cid))).toBe(false);
  });

  it('exec --apparmor and --process-label fail the same way', () => {
    const cid = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '30'] }), cid], { files: true }).status).toBe(0);
    expect(s.rt(['exec', '--apparmor', 'berth-test-profile', cid, 'true']).status).not.toBe(0);
    expect(s.rt(['exec', '--process-label', 'system_u:system_r:container_t:s0', cid, 'true']).status).not.toBe(0);
    expect(s.rt(['exec', cid, 'true']).status).toBe(0);
  });
});
