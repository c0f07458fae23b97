// /networks/*: parses and formats; the predefined networks are NetworkCatalog's.
// User-defined networks come in a later issue: creating, removing and connecting
// answer as dockerd does for the predefined ones, or say plainly that it is not here.
import { Router } from 'express';
import { DaemonError, notImplemented } from '../errors.js';
import type { NetworkCatalog } from '../network/catalog.js';
import { parseFilters } from './format.js';

export function networksRouter(networks: NetworkCatalog): Router {
  const r = Router();
  r.get('/networks', (req, res) => {
    res.json(networks.list(parseFilters(req.query.filters)));
  });
  r.post('/networks/create', (req, res) => {
    const name = String((req.body as { Name?: string } | undefined)?.Name ?? '');
    if (networks.find(name)) {
      throw new DaemonError('forbidden', `${name} is a pre-defined network and cannot be created`);
    }
    void res;
    throw notImplemented('user-defined networks are not supported by berthd yet: use the predefined bridge, host or none');
  });
  r.post('/networks/prune', (_req, res) => {
    res.json({ NetworksDeleted: null });
  });
  r.get('/networks/:id', (req, res) => {
    res.json(networks.inspect(String(req.params.id)));
  });
  r.delete('/networks/:id', (req, res) => {
    const n = networks.inspect(String(req.params.id));
    void res;
    throw new DaemonError('forbidden', `${n.Name} is a pre-defined network and cannot be removed`);
  });
  for (const action of ['connect', 'disconnect']) {
    r.post(`/networks/:id/${action}`, (req, res) => {
      const n = networks.inspect(String(req.params.id));
      void res;
      throw notImplemented(`network ${action} is not supported by berthd yet: containers join ${n.Name} with --network at create`);
    });
  }
  return r;
}
