// /dev inside the container: the devices every container gets (runtime-spec
// config-linux.md "Default Devices"), then linux.devices, as real nodes (mknod;
// the runtime is root in the initial user namespace) with the configured mode and
// owner, whatever the umask. Inside a user namespace mknod is not allowed: each node
// is then a bind mount of the host's node at the same path (as runc does).
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LinuxDevice, User } from 'oci-spec-types';
import { invalid } from '../errors.js';
import { MS, type Sys } from '../sys/index.js';

export const DEFAULT_DEVICES: LinuxDevice[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

export const DEV_SYMLINKS: [string, string][] = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
  ['core', '/proc/kcore'],
];

const TYPE_BITS: Record<string, number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

/** Creates the default devices and `devices` under `devDir` (the rootfs's /dev). */
export function createDevices(sys: Sys, devDir: string, devices: LinuxDevice[], _user?: User, bind = false): void {
  const byPath = new Map<string, LinuxDevice>();
  for (const d of [...DEFAULT_DEVICES, ...devices]) byPath.set(d.path, d);
  for (const d of byPath.values()) {
    if (!d.path.startsWith('/dev/')) throw invalid(`config.json: linux.devices: ${d.path} is not under /dev`);
    const bits = TYPE_BITS[d.type];
    if (bits === undefined) throw invalid(`config.json: linux.devices: ${d.path}: invalid device type "${d.type}"`);
    const rel = d.path.slice('/dev/'.length).split('/').filter((p) => p && p !== '..' && p !== '.').join('/');
    const path = `${devDir}/${rel}`;
    if (!existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    rmSync(path, { force: true });
    if (bind) {
      if (!existsSync(d.path)) throw invalid(`config.json: linux.devices: ${d.path} does not exist on the host, and in a user namespace devices are bind-mounted from it`);
      closeSync(openSync(path, 'w', 0o600));
      sys.mount(d.path, path, 'bind', MS.BIND, null);
      continue;
    }
    const mode = (d.fileMode ?? 0o666) & 0o7777;
    sys.mknod(path, bits | mode, d.type === 'p' ? 0 : (d.major ?? 0), d.type === 'p' ? 0 : (d.minor ?? 0));
    sys.chmod(path, mode);
    sys.chown(path, d.uid ?? 0, d.gid ?? 0);
  }
}
