// /containers/{id}/archive (docker cp): GET a tar of a path, HEAD its stat, PUT a
// tar into a directory. Paths resolve inside the running container's root
// (/proc/<pid>/root), so mounts and volumes are seen as the container sees them.
import { spawn } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import { basename, dirname, join, normalize } from 'node:path';
import { type Request, type Response, Router } from 'express';
import { conflict, invalid, notFound } from '../errors.js';
import type { ContainerService } from '../containers/service.js';
import { boolParam } from './format.js';

// Go's os.FileMode type bits, which the docker CLI decodes from the stat header.
const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;

function rootOf(svc: ContainerService, ref: string): string {
  const c = svc.get(ref);
  if (!c.State.Running || !c.State.Pid) throw conflict(`container ${c.ID} is not running: docker cp needs a running container in berthd for now`);
  return `/proc/${c.State.Pid}/root`;
}

function inside(root: string, path: string): string {
  if (!path) throw invalid('path must not be empty');
  return join(root, normalize(`/${path}`));
}

function statHeader(full: string, path: string): string {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(full);
  } catch {
    throw notFound(`Could not find the file ${path} in container`);
  }
  let mode = st.mode & 0o777;
  if (st.isDirectory()) mode += GO_DIR;
  if (st.isSymbolicLink()) mode += GO_SYMLINK;
  const stat = {
    name: basename(path) || '/',
    size: st.size,
    mode,
    mtime: st.mtime.toISOString(),
    linkTarget: st.isSymbolicLink() ? readlinkSync(full) : '',
  };
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

function tar(args: string[], input?: Request): Promise<{ child: ReturnType<typeof spawn>; done: Promise<void> }> {
  const child = spawn('tar', args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const err: Buffer[] = [];
  child.stderr?.on('data', (d) => err.push(d));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(invalid(`tar: ${Buffer.concat(err).toString().trim()}`))));
  });
  if (input) input.pipe(child.stdin!);
  return Promise.resolve({ child, done });
}

export function archiveRouter(svc: ContainerService): Router {
  const r = Router();
  const target = (req: Request) => {
    const root = rootOf(svc, String(req.params.id));
    const path = String(req.query.path ?? '');
    return { root, path, full: inside(root, path) };
  };

  r.head('/containers/:id/archive', (req: Request, res: Response) => {
    const { full, path } = target(req);
    res.setHeader('X-Docker-Container-Path-Stat', statHeader(full, path));
    res.status(200).end();
  });

  r.get('/containers/:id/archive', async (req, res) => {
    const { full, path } = target(req);
    res.setHeader('X-Docker-Container-Path-Stat', statHeader(full, path));
    res.status(200).setHeader('Content-Type', 'application/x-tar');
    const { child, done } = await tar(['-C', dirname(full), '-cf', '-', basename(full)]);
    child.stdout!.pipe(res);
    await done.catch((e) => res.destroy(e));
    svc.note(svc.get(String(req.params.id)), 'archive-path', { path });
  });

  r.put('/containers/:id/archive', async (req, res) => {
    const { full, path } = target(req);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(full);
    } catch {
      throw notFound(`Could not find the file ${path} in container`);
    }
    if (!st.isDirectory()) throw invalid(`extraction point is not a directory`);
    // Without copyUIDGID the files belong to the container's root, as dockerd does.
    const args = ['-C', full, '-xf', '-', boolParam(req.query.copyUIDGID) ? '--same-owner' : '--no-same-owner'];
    const { done } = await tar(args, req);
    await done;
    svc.note(svc.get(String(req.params.id)), 'extract-to-dir', { path });
    res.status(200).end();
  });
  return r;
}
