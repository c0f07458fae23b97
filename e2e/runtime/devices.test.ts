// /dev: the default devices, linux.devices, /dev/pts + ptmx, /dev/fd and the std
// links, /dev/shm.
import { describe, expect, it } from 'vitest';
import { canRun, suite } from './rt.js';

describe.skipIf(!canRun)('devices', () => {
  const s = suite('dev');

  it('creates the default devices as character devices with mode 0666', () => {
    const r = s.rt(['run', '-b', s.bundle({ args: ['sh', '-c', 'for d in null zero full random urandom tty; do stat -c "%n %F %a %t:%T" /dev/$d; done'] }), s.id()]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      '/dev/null character special file 666 1:3',
      '/dev/zero character special file 666 1:5',
      '/dev/full character special file 666 1:7',
      '/dev/random character special file 666 1:8',
      '/dev/urandom character special file 666 1:9',
      '/dev/tty character special file 666 5:0',
    ]);
  });

  it('the devices work', () => {
    const r = s.rt(['run', '-b', s.bundle({ args: ['sh', '-c', 'echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 8 /dev/urandom | wc -c'] }), s.id()]);
    expect(r.stdout).toBe('4\n8\n');
  });

  it('creates linux.devices with their mode and owner', () => {
    const b = s.bundle({
      args: ['stat', '-c', '%n %F %a %u:%g %t:%T', '/dev/rt-null', '/dev/sub/rt-zero'],
      edit: (c) => {
        c.linux.devices = [
          { path: '/dev/rt-null', type: 'c', major: 1, minor: 3, fileMode: 0o640, uid: 1000, gid: 100 },
          { path: '/dev/sub/rt-zero', type: 'c', major: 1, minor: 5, fileMode: 0o600, uid: 0, gid: 0 },
        ];
      },
    });
    const r = s.rt(['run', '-b', b, s.id()]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['/dev/rt-null character special file 640 1000:100 1:3', '/dev/sub/rt-zero character special file 600 0:0 1:5']);
  });

  it('links /dev/fd, stdin, stdout, stderr and ptmx; mounts /dev/pts and /dev/shm', () => {
    const r = s.rt(['run', '-b', s.bundle({ args: ['sh', '-c', 'for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; grep -E " /dev/(pts|shm) " /proc/self/mountinfo | cut -d" " -f5,9'] }), s.id()]);
    expect(r.stdout.trim().split('\n')).toEqual(['/proc/self/fd', '/proc/self/fd/0', '/proc/self/fd/1', '/proc/self/fd/2', 'pts/ptmx', '/dev/pts devpts', '/dev/shm shm']);
  });
});
