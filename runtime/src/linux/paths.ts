// Resolving a container path inside the rootfs the way the kernel would after
// pivot_root: every symlink (absolute or relative, at any depth) is followed
// relative to the rootfs and `..` never climbs above it, so a hostile image cannot
// make a mount land outside its root.
import { lstatSync, readlinkSync } from 'node:fs';
import { invalid } from '../errors.js';

export function secureJoin(root: string, unsafe: string): string {
  const parts = unsafe.split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = `${root}/${[...resolved, part].join('/')}`;
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch {
      // A missing component: the rest is taken literally (it will be created).
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > 255) throw invalid(`too many levels of symbolic links resolving ${unsafe}`);
    let target: string;
    try {
      target = readlinkSync(candidate);
    } catch (err: any) {
      // Swapped between lstat and readlink (no longer a link, or gone): look at it again.
      if (err?.code !== 'EINVAL' && err?.code !== 'ENOENT') throw err;
      parts.unshift(part);
      continue;
    }
    if (target.startsWith('/')) resolved.length = 0;
    parts.unshift(...target.split('/').filter(Boolean));
  }
  return resolved.length ? `${root.replace(/\/+$/, '')}/${resolved.join('/')}` : root.replace(/\/+$/, '') || '/';
}
