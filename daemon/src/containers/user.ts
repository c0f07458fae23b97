// `-u name[:group]` resolved as dockerd does (moby's GetExecUser): names are looked
// up in the container's own /etc/passwd and /etc/group, read from its snapshot's
// layers (the writable upper dir first, then the image's layers top-down).
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../errors.js';
import type { ResolvedUser } from './spec.js';

export interface LayerMount {
  type: string;
  source: string;
  options: string[];
}

/** The snapshot's directories, top first. */
export function layerDirs(mounts: LayerMount[]): string[] {
  const out: string[] = [];
  for (const m of mounts) {
    const upper = m.options.find((o) => o.startsWith('upperdir='));
    if (upper) out.push(upper.slice('upperdir='.length));
    const lower = m.options.find((o) => o.startsWith('lowerdir='));
    if (lower) out.push(...lower.slice('lowerdir='.length).split(':'));
    else if (m.type === 'bind') out.push(m.source);
  }
  return out;
}

/** A regular file of the merged rootfs, or undefined (missing, or deleted by a whiteout). */
export function readLayered(dirs: string[], path: string): string | undefined {
  for (const d of dirs) {
    const p = join(d, path);
    if (!existsSync(p)) continue;
    const st = lstatSync(p);
    // An overlay whiteout (char device 0:0) hides the file of the layers below.
    if (st.isCharacterDevice()) return undefined;
    return st.isFile() ? readFileSync(p, 'utf8') : undefined;
  }
  return undefined;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parsePasswd(text = ''): PasswdEntry[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' }));
}

function parseGroup(text = ''): GroupEntry[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3)
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

const numeric = (s: string) => /^[0-9]+$/.test(s);

/**
 * `user[:group]` against passwd/group text. A numeric uid missing from passwd is
 * allowed (gid 0); a name must exist. Without an explicit group, the user's
 * supplementary groups come from the group file.
 */
export function resolveUserSpec(spec: string | undefined, passwdText?: string, groupText?: string): ResolvedUser & { home: string } {
  const [userPart = '', groupPart] = (spec ?? '').split(':', 2);
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name = '';
  if (userPart) {
    const entry = numeric(userPart) ? passwd.find((p) => p.uid === Number(userPart)) : passwd.find((p) => p.name === userPart);
    if (entry) {
      ({ uid, gid, home, name } = entry);
    } else if (numeric(userPart)) {
      uid = Number(userPart);
    } else {
      throw invalid(`unable to find user ${userPart}: no matching entries in passwd file`);
    }
  } else {
    const root = passwd.find((p) => p.uid === 0);
    if (root) ({ home, name } = root);
  }
  let additionalGids: number[] = [];
  if (groupPart !== undefined && groupPart !== '') {
    if (numeric(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw invalid(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  } else if (name) {
    additionalGids = groups.filter((g) => g.members.includes(name) && g.gid !== gid).map((g) => g.gid);
  }
  return { uid, gid, home, ...(additionalGids.length ? { additionalGids } : {}) };
}

/** Resolves `spec` against the rootfs the layer mounts describe. */
export function resolveUserInRootfs(spec: string | undefined, mounts: LayerMount[]): ResolvedUser & { home: string } {
  const dirs = layerDirs(mounts);
  return resolveUserSpec(spec, readLayered(dirs, 'etc/passwd'), readLayered(dirs, 'etc/group'));
}
