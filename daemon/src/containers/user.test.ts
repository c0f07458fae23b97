import { describe, expect, it } from 'vitest';
import type { DaemonError } from '../errors.js';
import { layerDirs, resolveUserSpec } from './user.js';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n';
const group = 'root:x:0:\nusers:x:100:user,nobody\nuser:x:1000:\nwheel:x:10:user\n';

describe('-u resolution against passwd and group', () => {
  it('names, numeric ids, groups and supplementary groups as dockerd does', () => {
    expect(resolveUserSpec('', passwd, group)).toEqual({ uid: 0, gid: 0, home: '/root' });
    expect(resolveUserSpec('user', passwd, group)).toEqual({ uid: 1000, gid: 1000, home: '/home/user', additionalGids: [100, 10] });
    expect(resolveUserSpec('1000', passwd, group)).toMatchObject({ uid: 1000, gid: 1000, home: '/home/user' });
    expect(resolveUserSpec('4242', passwd, group)).toEqual({ uid: 4242, gid: 0, home: '/' });
    expect(resolveUserSpec('user:users', passwd, group)).toEqual({ uid: 1000, gid: 100, home: '/home/user' });
    expect(resolveUserSpec('nobody:7', passwd, group)).toEqual({ uid: 65534, gid: 7, home: '/nonexistent' });
    expect(resolveUserSpec('5:6')).toEqual({ uid: 5, gid: 6, home: '/' });
  });

  it('unknown names are invalid-argument errors with Docker’s message', () => {
    const err = (() => {
      try {
        resolveUserSpec('ghost', passwd, group);
      } catch (e) {
        return e as DaemonError;
      }
    })();
    expect(err?.kind).toBe('invalid-argument');
    expect(err?.message).toBe('unable to find user ghost: no matching entries in passwd file');
    expect(() => resolveUserSpec('user:ghosts', passwd, group)).toThrow('unable to find group ghosts: no matching entries in group file');
    expect(() => resolveUserSpec('user', undefined, undefined)).toThrow('unable to find user user');
  });

  it('reads the snapshot top-down: upper dir, then lower dirs in order', () => {
    expect(layerDirs([{ type: 'overlay', source: 'overlay', options: ['index=off', 'upperdir=/u', 'workdir=/w', 'lowerdir=/l1:/l2'] }])).toEqual(['/u', '/l1', '/l2']);
    expect(layerDirs([{ type: 'bind', source: '/rootfs', options: ['rbind'] }])).toEqual(['/rootfs']);
  });
});
