// docker import: a rootfs tar (plain or gzip) becomes a one-layer image. The tar is
// the layer; the config carries the --change instructions and the -m message; the
// pair is handed to berth-shimd as a docker-archive, like docker load.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { invalid } from '../errors.js';
import type { ImageRunConfig } from '../containers/model.js';

/** The name an untagged import is stored under (shimd keeps images by name); it is never shown as a tag. */
export const DANGLING_REPO = 'berth.invalid/dangling';

function splitWords(s: string): string[] {
  return s.trim().split(/\s+/).filter(Boolean);
}

function jsonOrShell(rest: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {}
  }
  return ['/bin/sh', '-c', t];
}

function keyValues(rest: string): [string, string][] {
  const t = rest.trim();
  if (!t.includes('=') || /^\S+\s/.test(t.split('=')[0]!)) {
    const [k, ...v] = splitWords(t);
    return k ? [[k, v.join(' ')]] : [];
  }
  const out: [string, string][] = [];
  for (const m of t.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    out.push([m[1]!, m[2]!.startsWith('"') ? JSON.parse(m[2]!) : m[2]!]);
  }
  return out;
}

/** Applies Dockerfile instructions (docker import --change) to an image config. */
export function applyChanges(changes: string[]): ImageRunConfig {
  const cfg: ImageRunConfig = {};
  for (const line of changes) {
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw invalid(`dockerfile parse error: unknown instruction: ${line}`);
    const [, instr, rest] = m as unknown as [string, string, string];
    switch (instr.toUpperCase()) {
      case 'CMD':
        cfg.Cmd = jsonOrShell(rest);
        break;
      case 'ENTRYPOINT':
        cfg.Entrypoint = jsonOrShell(rest);
        break;
      case 'ENV':
        cfg.Env = [...(cfg.Env ?? []).filter((e) => !keyValues(rest).some(([k]) => e.startsWith(`${k}=`))), ...keyValues(rest).map(([k, v]) => `${k}=${v}`)];
        break;
      case 'LABEL':
        cfg.Labels = { ...(cfg.Labels ?? {}), ...Object.fromEntries(keyValues(rest)) };
        break;
      case 'WORKDIR':
        cfg.WorkingDir = rest.trim();
        break;
      case 'USER':
        cfg.User = rest.trim();
        break;
      case 'EXPOSE':
        cfg.ExposedPorts = { ...(cfg.ExposedPorts ?? {}), ...Object.fromEntries(splitWords(rest).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])) };
        break;
      case 'VOLUME':
        cfg.Volumes = { ...(cfg.Volumes ?? {}), ...Object.fromEntries(jsonOrShell(rest)[0] === '/bin/sh' ? splitWords(rest).map((v) => [v, {}]) : jsonOrShell(rest).map((v) => [v, {}])) };
        break;
      case 'STOPSIGNAL':
        cfg.StopSignal = rest.trim();
        break;
      default:
        throw invalid(`${instr.toUpperCase()} is not a valid change command`);
    }
  }
  return cfg;
}

function isTar(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(512);
    const n = readSync(fd, b, 0, 512, 0);
    return n === 512 && b.toString('latin1', 257, 262) === 'ustar';
  } finally {
    closeSync(fd);
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (err, _o, stderr) => (err ? reject(new Error(`${cmd}: ${stderr.trim() || err.message}`)) : resolve())),
  );
}

/** Decompresses gzip on the fly (sniffed from the first bytes); anything else passes through. */
function maybeGunzip(): Transform {
  let decided = false;
  let inner: Transform | PassThrough | undefined;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!decided) {
        decided = true;
        inner = chunk[0] === 0x1f && chunk[1] === 0x8b ? createGunzip() : new PassThrough();
        inner.on('data', (d) => out.push(d));
        inner.on('error', (e) => out.destroy(e));
      }
      inner!.write(chunk, cb);
    },
    flush(cb) {
      if (!inner) return cb();
      inner.once('end', () => cb());
      inner.end();
    },
  });
  return out;
}

export interface ImportRequest {
  source: Readable;
  /** repo:tag, or undefined for an untagged image. */
  name?: string;
  message?: string;
  changes: string[];
  tmpDir: string;
}

/**
 * Builds a docker-archive of the one-layer image in `tmpDir`; returns its path, the
 * image ID and the archive's RepoTags entry. The caller imports and removes it.
 */
export async function buildImportArchive(req: ImportRequest): Promise<{ archive: string; id: string; dir: string }> {
  const config = applyChanges(req.changes);
  mkdirSync(req.tmpDir, { recursive: true });
  const dir = mkdtempSync(join(req.tmpDir, 'import-'));
  try {
    const layerTmp = join(dir, 'layer.tar');
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(req.source, maybeGunzip(), hasher, createWriteStream(layerTmp));
    } catch (e) {
      throw invalid(`the import source could not be read: ${(e as Error).message}`);
    }
    if (!isTar(layerTmp)) throw invalid('archive/tar: invalid tar header: the import source is not a tar archive (plain or gzip)');
    const diffId = `sha256:${hash.digest('hex')}`;
    const created = new Date().toISOString();
    const imageConfig = {
      architecture: 'amd64',
      os: 'linux',
      created,
      ...(req.message ? { comment: req.message } : {}),
      config,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, comment: req.message || 'Imported from -' }],
    };
    const configText = Buffer.from(JSON.stringify(imageConfig));
    const configHex = createHash('sha256').update(configText).digest('hex');
    const layerDir = diffId.slice(7);
    mkdirSync(join(dir, 'archive', layerDir), { recursive: true });
    renameSync(layerTmp, join(dir, 'archive', layerDir, 'layer.tar'));
    writeFileSync(join(dir, 'archive', `${configHex}.json`), configText);
    writeFileSync(
      join(dir, 'archive', 'manifest.json'),
      JSON.stringify([{ Config: `${configHex}.json`, RepoTags: req.name ? [req.name] : [], Layers: [`${layerDir}/layer.tar`] }]),
    );
    const archive = join(dir, 'image.tar');
    await run('tar', ['-C', join(dir, 'archive'), '-cf', archive, 'manifest.json', `${configHex}.json`, layerDir]);
    rmSync(join(dir, 'archive'), { recursive: true, force: true });
    return { archive, id: `sha256:${configHex}`, dir };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

export function archiveStream(path: string): Readable {
  return createReadStream(path);
}
