import { Router } from 'express';
import type { SystemService } from '../system/info.js';

export function systemRouter(system: SystemService, df?: () => Promise<object>): Router {
  const r = Router();
  const ping = (_req: unknown, res: import('express').Response) => {
    res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    res.setHeader('Pragma', 'no-cache');
    res.setHeader('Builder-Version', '1');
    res.setHeader('Swarm', 'inactive');
    res.type('text/plain; charset=utf-8');
  };
  r.head('/_ping', (req, res) => {
    ping(req, res);
    res.setHeader('Content-Length', '0');
    res.status(200).end();
  });
  r.get('/_ping', (req, res) => {
    ping(req, res);
    res.status(200).send('OK');
  });
  r.get('/version', (_req, res) => {
    res.json(system.version());
  });
  r.get('/info', async (_req, res) => {
    res.json(await system.info());
  });
  r.get('/system/df', async (_req, res) => {
    res.json(df ? await df() : { LayersSize: 0, Images: [], Containers: [], Volumes: [], BuildCache: [] });
  });
  // No builder here, so no build cache: answer as dockerd does with an empty cache
  // (docker system prune calls this after pruning containers, networks and images).
  r.post('/build/prune', (_req, res) => {
    res.json({ CachesDeleted: null, SpaceReclaimed: 0 });
  });
  return r;
}
