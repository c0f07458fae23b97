// The mount plan, recorded by the fake Sys against a temporary rootfs.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Spec } from 'oci-spec-types';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSys } from '../sys/fake.js';
import { MNT_DETACH, MS } from '../sys/index.js';
import { finalizeRootfs, pivotRoot, prepareRootfs } from './rootfs.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rootfs(): string {
  const d = mkdtempSync(join(tmpdir(), 'rt-unit-rootfs-'));
  dirs.push(d);
  mkdirSync(join(d, 'rootfs', 'etc'), { recursive: true });
  return join(d, 'rootfs');
}

const spec = (extra: Partial<Spec> = {}): Spec => ({
  ociVersion: '1.2.0',
  process: { user: { uid: 0, gid: 0 }, cwd: '/work', args: ['sh'] },
  root: { path: 'rootfs' },
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755'] },
  ],
  ...extra,
});

describe('prepareRootfs', () => {
  it('makes / private, binds the rootfs, then mounts in config order', () => {
    const sys = new FakeSys();
    const r = rootfs();
    prepareRootfs({ sys, spec: spec(), rootfs: r, cgroupPaths: {}, cgroupNs: false });
    const mounts = sys.only('mount');
    expect(mounts[0]).toEqual(['mount', null, '/', null, MS.PRIVATE | MS.REC, null]);
    expect(mounts[1]).toEqual(['mount', r, r, 'bind', MS.BIND | MS.REC, null]);
    expect(mounts[2]).toEqual(['mount', null, expect.any(String), null, MS.PRIVATE, null]);
    expect(mounts[3]).toEqual(['mount', 'proc', `${r}/proc`, 'proc', 0, null]);
    expect(mounts[4]).toEqual(['mount', 'tmpfs', `${r}/dev`, 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755']);
    expect(existsSync(`${r}/work`)).toBe(true);
  });

  it('keeps the rootfs bindable: shared starts as slave, unbindable as private', () => {
    for (const [prop, first] of [
      ['rshared', MS.SLAVE | MS.REC],
      ['unbindable', MS.PRIVATE | MS.REC],
      ['rslave', MS.SLAVE | MS.REC],
    ] as const) {
      const sys = new FakeSys();
      prepareRootfs({ sys, spec: spec({ linux: { rootfsPropagation: prop } }), rootfs: rootfs(), cgroupPaths: {}, cgroupNs: false });
      expect(sys.only('mount')[0], prop).toEqual(['mount', null, '/', null, first, null]);
    }
    const sys = new FakeSys();
    finalizeRootfs(sys, spec({ linux: { rootfsPropagation: 'unbindable' } }));
    expect(sys.only('mount')).toEqual([['mount', null, '/', null, MS.UNBINDABLE, null]]);
  });

  it('creates the default devices with mode and owner, and the /dev links', () => {
    const sys = new FakeSys();
    const r = rootfs();
    prepareRootfs({
      sys,
      spec: spec({ linux: { devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 5, gid: 6 }] } }),
      rootfs: r,
      cgroupPaths: {},
      cgroupNs: false,
    });
    const nodes = sys.only('mknod').map((c) => [c[1], c[3], c[4]]);
    expect(nodes).toContainEqual([`${r}/dev/null`, 1, 3]);
    expect(nodes).toContainEqual([`${r}/dev/tty`, 5, 0]);
    expect(nodes).toContainEqual([`${r}/dev/fuse`, 10, 229]);
    expect(sys.only('mknod').find((c) => c[1] === `${r}/dev/fuse`)![2]).toBe(0o020000 | 0o600);
    expect(sys.only('chown')).toContainEqual(['chown', `${r}/dev/fuse`, 5, 6]);
    expect(sys.only('chmod')).toContainEqual(['chmod', `${r}/dev/null`, 0o666]);
    expect(readlinkSync(`${r}/dev/ptmx`)).toBe('pts/ptmx');
    expect(readlinkSync(`${r}/dev/stdout`)).toBe('/proc/self/fd/1');
    expect(lstatSync(`${r}/dev/fd`).isSymbolicLink()).toBe(true);
  });

  it('binds with a remount for flags, then applies propagation', () => {
    const sys = new FakeSys();
    const r = rootfs();
    const src = mkdtempSync(join(tmpdir(), 'rt-unit-src-'));
    dirs.push(src);
    prepareRootfs({
      sys,
      spec: spec({ mounts: [{ destination: '/data', type: 'bind', source: src, options: ['rbind', 'ro', 'nosuid', 'rslave'] }] }),
      rootfs: r,
      cgroupPaths: {},
      cgroupNs: false,
    });
    const data = sys.only('mount').filter((c) => c[2] === `${r}/data`);
    expect(data).toEqual([
      ['mount', src, `${r}/data`, 'bind', MS.BIND | MS.REC, null],
      ['mount', src, `${r}/data`, 'bind', MS.RDONLY | MS.NOSUID | MS.BIND | MS.REMOUNT | MS.REC, null],
      ['mount', null, `${r}/data`, null, MS.SLAVE | MS.REC, null],
    ]);
  });

  it('keeps a symlinked destination inside the rootfs', () => {
    const sys = new FakeSys();
    const r = rootfs();
    symlinkSync('/etc', join(r, 'link'));
    prepareRootfs({ sys, spec: spec({ mounts: [{ destination: '/link/x', type: 'tmpfs', source: 'tmpfs' }] }), rootfs: r, cgroupPaths: {}, cgroupNs: false });
    expect(sys.only('mount').some((c) => c[2] === `${r}/etc/x`)).toBe(true);
  });

  it('mounts v1 cgroups as read-only binds under a tmpfs', () => {
    const sys = new FakeSys();
    const r = rootfs();
    prepareRootfs({
      sys,
      spec: spec({ mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid'] }] }),
      rootfs: r,
      cgroupPaths: { memory: '/sys/fs/cgroup/memory/berth/x', '': '/sys/fs/cgroup/unified/berth/x' },
      cgroupNs: true,
    });
    const cg = sys.only('mount').filter((c) => String(c[2]).startsWith(`${r}/sys/fs/cgroup`));
    expect(cg[0]).toEqual(['mount', 'tmpfs', `${r}/sys/fs/cgroup`, 'tmpfs', MS.NOSUID, 'mode=755']);
    expect(cg).toContainEqual(['mount', '/sys/fs/cgroup/memory/berth/x', `${r}/sys/fs/cgroup/memory`, 'bind', MS.BIND, null]);
    expect(cg).toContainEqual(['mount', '/sys/fs/cgroup/unified/berth/x', `${r}/sys/fs/cgroup/unified`, 'bind', MS.BIND | MS.REMOUNT | MS.NOSUID | MS.RDONLY, null]);
    expect(cg.at(-1)).toEqual(['mount', 'tmpfs', `${r}/sys/fs/cgroup`, 'tmpfs', MS.REMOUNT | MS.NOSUID | MS.RDONLY, 'mode=755']);
  });

  it('rejects a bind mount whose source does not exist', () => {
    const sys = new FakeSys();
    expect(() =>
      prepareRootfs({ sys, spec: spec({ mounts: [{ destination: '/x', type: 'bind', source: '/no/such/dir', options: ['bind'] }] }), rootfs: rootfs(), cgroupPaths: {}, cgroupNs: false }),
    ).toThrow(/\/no\/such\/dir does not exist/);
  });
});

describe('pivotRoot', () => {
  it('pivots, detaches the old root as a slave, and returns to /', () => {
    const sys = new FakeSys();
    pivotRoot(sys, '/r', false);
    expect(sys.calls.map((c) => c[0])).toEqual(['chdir', 'open', 'pivotRoot', 'fchdir', 'mount', 'umount2', 'close', 'chdir']);
    expect(sys.only('umount2')).toEqual([['umount2', '.', MNT_DETACH]]);
    expect(sys.only('mount')).toEqual([['mount', null, '.', null, MS.SLAVE | MS.REC, null]]);
  });

  it('--no-pivot moves the rootfs over / and chroots', () => {
    const sys = new FakeSys();
    pivotRoot(sys, '/r', true);
    expect(sys.calls).toEqual([
      ['chdir', '/r'],
      ['mount', '/r', '/', null, MS.MOVE, null],
      ['chroot', '.'],
      ['chdir', '/'],
    ]);
  });
});

describe('finalizeRootfs', () => {
  it('remounts / read-only and applies readonlyPaths and maskedPaths that exist', () => {
    const sys = new FakeSys();
    const dir = mkdtempSync(join(tmpdir(), 'rt-unit-final-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'ro'));
    mkdirSync(join(dir, 'masked-dir'));
    finalizeRootfs(
      sys,
      spec({ root: { path: 'rootfs', readonly: true }, linux: { readonlyPaths: [join(dir, 'ro'), '/no/such'], maskedPaths: [join(dir, 'masked-dir'), '/no/such'] } }),
    );
    expect(sys.only('mount')).toEqual([
      ['mount', null, '/', null, MS.BIND | MS.REMOUNT | MS.RDONLY, null],
      ['mount', join(dir, 'ro'), join(dir, 'ro'), null, MS.BIND | MS.REC, null],
      ['mount', join(dir, 'ro'), join(dir, 'ro'), null, MS.BIND | MS.REMOUNT | MS.RDONLY, null],
      ['mount', 'tmpfs', join(dir, 'masked-dir'), 'tmpfs', MS.RDONLY, null],
    ]);
  });
});
