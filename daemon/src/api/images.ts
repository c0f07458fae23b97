// /images/*: parses and formats; behaviour is ImageService's.
import { type Request, type Response, Router } from 'express';
import { invalid, notImplemented } from '../errors.js';
import type { ImageService, ImageSummary } from '../images/service.js';
import { familiarName, familiarRepository } from '../images/reference.js';
import { boolParam, EMPTY_CONTAINER_CONFIG, parseFilters } from './format.js';
import { DANGLING_REPO } from '../images/import.js';
import { Readable } from 'node:stream';

function repoDigests(s: ImageSummary): string[] {
  const out = new Set<string>();
  for (const n of s.names) if (!n.name.startsWith(`${DANGLING_REPO}@`)) out.add(`${familiarRepository(n.name)}@${n.target.digest}`);
  return [...out];
}

function repoTags(s: ImageSummary): string[] {
  return s.names.filter((n) => !n.name.includes('@')).map((n) => familiarName(n.name));
}

function listEntry(s: ImageSummary, containers: number): object {
  return {
    Id: s.id,
    ParentId: '',
    RepoTags: repoTags(s),
    RepoDigests: repoDigests(s),
    Created: Math.floor(Date.parse(s.created) / 1000) || 0,
    Size: s.size,
    SharedSize: -1,
    Labels: s.config.config?.Labels ?? {},
    Containers: containers,
  };
}

function inspectImage(s: ImageSummary): object {
  const cfg = s.config.config ?? {};
  return {
    Id: s.id,
    RepoTags: repoTags(s),
    RepoDigests: repoDigests(s),
    Parent: '',
    Comment: s.config.comment ?? '',
    Created: s.created,
    DockerVersion: s.config.docker_version ?? '',
    Author: s.config.author ?? '',
    Config: {
      ...EMPTY_CONTAINER_CONFIG,
      Labels: null,
      ...cfg,
    },
    Architecture: s.config.architecture ?? 'amd64',
    Os: s.config.os ?? 'linux',
    Size: s.size,
    GraphDriver: { Name: 'overlayfs', Data: null },
    RootFS: { Type: 'layers', Layers: s.config.rootfs?.diff_ids ?? [] },
    Metadata: { LastTagTime: s.names[0]?.createdAt ?? '0001-01-01T00:00:00Z' },
  };
}

/** Image names may hold slashes and colons: /images/localhost:5000/app:v1/json. */
function nameParam(req: Request): string {
  const p = req.params.name as unknown;
  return Array.isArray(p) ? p.join('/') : String(p);
}

export function imagesRouter(images: ImageService, containersUsing: (imageId: string) => number, tmpDir = '/tmp'): Router {
  const r = Router();

  r.get('/images/json', async (req, res) => {
    const filters = parseFilters(req.query.filters);
    let list = await images.all();
    const refs = filters.get('reference');
    if (refs?.length) {
      list = list.filter((s) =>
        s.names.some((n) => refs.some((ref) => globMatch(ref, familiarName(n.name)) || globMatch(ref, familiarRepository(n.name)))),
      );
    }
    const labels = filters.get('label');
    if (labels?.length) {
      list = list.filter((s) =>
        labels.every((l) => {
          const i = l.indexOf('=');
          const ls = s.config.config?.Labels ?? {};
          return i < 0 ? l in ls : ls[l.slice(0, i)] === l.slice(i + 1);
        }),
      );
    }
    if (filters.get('dangling')?.includes('true')) list = list.filter((s) => repoTags(s).length === 0);
    list.sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
    res.json(list.map((s) => listEntry(s, containersUsing(s.id))));
  });

  r.post('/images/load', async (req, res) => {
    const quiet = boolParam(req.query.quiet);
    const loaded = await images.load(req);
    res.status(200).setHeader('Content-Type', 'application/json');
    for (const name of loaded) res.write(`${JSON.stringify({ stream: `Loaded image: ${name}\n` })}\n`);
    void quiet;
    res.end();
  });

  const save = async (refs: string[], res: Response) => {
    if (!refs.length) throw invalid('no image names given');
    const tar = await images.save(refs);
    res.status(200).type('application/x-tar');
    tar.on('error', (e) => res.destroy(e));
    tar.pipe(res);
  };
  r.get('/images/get', async (req, res) => {
    const names = req.query.names;
    await save(Array.isArray(names) ? names.map(String) : names ? [String(names)] : [], res);
  });

  r.post('/images/create', async (req, res) => {
    if (req.query.fromSrc) {
      const src = String(req.query.fromSrc);
      let source: Readable = req;
      if (src !== '-') {
        if (!/^https?:\/\//.test(src)) throw invalid(`fromSrc must be "-" (the request body) or an http(s) URL, not "${src}"`);
        const got = await fetch(src).catch((e) => {
          throw invalid(`import from ${src}: ${(e as Error).message}`);
        });
        if (!got.ok || !got.body) throw invalid(`import from ${src}: HTTP ${got.status}`);
        source = Readable.fromWeb(got.body as import('node:stream/web').ReadableStream);
      }
      const q = req.query;
      const changes = (Array.isArray(q.changes) ? q.changes : q.changes ? [q.changes] : []).map(String);
      const id = await images.import({
        source,
        repo: q.repo ? String(q.repo) : undefined,
        tag: q.tag ? String(q.tag) : undefined,
        message: q.message ? String(q.message) : undefined,
        changes,
        tmpDir,
      });
      res.status(200).setHeader('Content-Type', 'application/json');
      res.end(`${JSON.stringify({ status: id })}\n`);
      return;
    }
    const from = String(req.query.fromImage ?? '');
    if (!from) throw invalid('fromImage or fromSrc is required');
    const tag = req.query.tag ? String(req.query.tag) : '';
    const ref = tag ? (tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`) : from;
    await progressStream(res, (report) => images.pull(ref, registryAuth(req), report));
  });

  r.post('/images/*name/push', async (req, res) => {
    const tag = req.query.tag ? String(req.query.tag) : '';
    const name = nameParam(req);
    await progressStream(res, (report) => images.push(tag ? `${name}:${tag}` : name, registryAuth(req), report));
  });

  r.post('/images/prune', async (req, res) => {
    const filters = parseFilters(req.query.filters);
    const dangling = filters.get('dangling')?.[0];
    res.json(await images.prune(dangling === 'false' || dangling === '0'));
  });

  r.get('/images/search', () => {
    throw notImplemented('search is not available: berthd has no registry index configured');
  });

  r.get('/images/*name/json', async (req, res) => {
    const { summary } = await images.find(nameParam(req));
    res.json(inspectImage(summary));
  });

  r.get('/images/*name/history', async (req, res) => {
    const { summary } = await images.find(nameParam(req));
    const hist = (summary.config.history ?? []) as any[];
    const out = hist
      .map((h, i) => ({
        Id: i === hist.length - 1 ? summary.id : '<missing>',
        Created: Math.floor(Date.parse(h.created ?? '') / 1000) || 0,
        CreatedBy: h.created_by ?? '',
        Tags: i === hist.length - 1 ? repoTags(summary) : null,
        Size: 0,
        Comment: h.comment ?? '',
      }))
      .reverse();
    res.json(out);
  });

  r.get('/images/*name/get', async (req, res) => {
    await save([nameParam(req)], res);
  });

  r.post('/images/*name/tag', async (req, res) => {
    const repo = String(req.query.repo ?? '');
    if (!repo) throw invalid('repository name must have at least one component');
    await images.tag(nameParam(req), repo, req.query.tag ? String(req.query.tag) : undefined);
    res.status(201).end();
  });

  r.delete('/images/*name', async (req, res) => {
    res.json(await images.remove(nameParam(req), boolParam(req.query.force)));
  });

  return r;
}

/** X-Registry-Auth: base64url JSON {username, password, serveraddress}. */
function registryAuth(req: Request): { username: string; password: string } | undefined {
  const h = req.headers['x-registry-auth'];
  if (typeof h !== 'string' || !h) return undefined;
  try {
    const o = JSON.parse(Buffer.from(h.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
    if (!o.username && !o.password) return undefined;
    return { username: o.username ?? '', password: o.password ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * Docker's JSON progress stream: the status line is sent only once the operation
 * reports something, so a failure before that (unknown repository, bad reference)
 * is an ordinary error response; later failures are an errorDetail line.
 */
async function progressStream(res: Response, op: (report: (msg: object) => void) => Promise<unknown>): Promise<void> {
  const report = (msg: object) => {
    if (!res.headersSent) res.status(200).setHeader('Content-Type', 'application/json');
    res.write(`${JSON.stringify(msg)}\r\n`);
  };
  try {
    await op(report);
  } catch (e) {
    if (!res.headersSent) throw e;
    const message = (e as Error).message;
    res.write(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
  }
  res.end();
}

function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.')}$`);
  return re.test(s) || re.test(s.replace(/:latest$/, ''));
}
