// A container's filesystem as docker diff and docker export see it: the changes are
// the snapshot's writable upper dir compared with the image's layers (overlay
// whiteouts are deletions); the export is the merged rootfs, read through a
// read-only overlay of all the layers so it works whether the container runs or not.
import { execFile, spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { notImplemented } from '../errors.js';
import type { LayerMount } from './user.js';

export interface Change {
  Path: string;
  /** 0 modified, 1 added, 2 deleted (Docker's ChangeType). */
  Kind: 0 | 1 | 2;
}

function overlayDirs(mounts: LayerMount[]): { upper: string; lowers: string[] } {
  const m = mounts.find((x) => x.type === 'overlay');
  const upper = m?.options.find((o) => o.startsWith('upperdir='))?.slice('upperdir='.length);
  const lower = m?.options.find((o) => o.startsWith('lowerdir='))?.slice('lowerdir='.length);
  if (!m || !upper) throw notImplemented('changes and export need an overlay snapshot (the native snapshotter has no upper dir)');
  return { upper, lowers: lower ? lower.split(':') : [] };
}

const exists = (p: string) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/** The upper dir's entries against the lower layers, sorted by path as docker diff prints them. */
export function rootfsChanges(mounts: LayerMount[]): Change[] {
  const { upper, lowers } = overlayDirs(mounts);
  const out: Change[] = [];
  const inLower = (rel: string) => lowers.some((l) => exists(join(l, rel)));
  const walk = (rel: string) => {
    for (const name of readdirSync(join(upper, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(upper, r));
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ Path: `/${r}`, Kind: 2 });
        continue;
      }
      out.push({ Path: `/${r}`, Kind: inLower(r) ? 0 : 1 });
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}

/** Bytes of the files in the upper dir (whiteouts and directories count nothing). */
export function writableSize(mounts: LayerMount[]): number {
  const { upper } = overlayDirs(mounts);
  let total = 0;
  const walk = (p: string) => {
    for (const name of readdirSync(p)) {
      const f = join(p, name);
      const st = lstatSync(f);
      if (st.isDirectory()) walk(f);
      else if (st.isFile() || st.isSymbolicLink()) total += st.size;
    }
  };
  walk(upper);
  return total;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (err, _o, stderr) => (err ? reject(new Error(`${cmd}: ${stderr.trim() || err.message}`)) : resolve())),
  );
}

/**
 * A tar stream of the merged rootfs. The read-only overlay is unmounted and its
 * mount point removed when the stream ends or is destroyed.
 */
export async function exportRootfs(mounts: LayerMount[], tmpDir: string): Promise<Readable> {
  const { upper, lowers } = overlayDirs(mounts);
  const target = mkdtempSync(join(tmpDir, 'export-'));
  try {
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${[upper, ...lowers].join(':')}`, target]);
  } catch (e) {
    rmSync(target, { recursive: true, force: true });
    throw e;
  }
  const entries = readdirSync(target);
  const tar = spawn('tar', ['--numeric-owner', '--xattrs', '-C', target, '-cf', '-', '--', ...entries], { stdio: ['ignore', 'pipe', 'ignore'] });
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    execFile('umount', ['-l', target], () => rmSync(target, { recursive: true, force: true }));
  };
  tar.on('close', cleanup);
  tar.on('error', cleanup);
  tar.stdout.on('close', () => {
    if (tar.exitCode === null) tar.kill();
  });
  return tar.stdout;
}
