// /networks/*: parses and formats. Listing and inspecting are NetworkCatalog's
// (predefined and user-defined networks); changes go through NetworkService.
import { Router } from 'express';
import type { NetworkCatalog } from '../network/catalog.js';
import type { NetworkService } from '../network/service.js';
import { parseFilters } from './format.js';

export function networksRouter(networks: NetworkCatalog, service: NetworkService): Router {
  const r = Router();
  r.get('/networks', (req, res) => {
    res.json(networks.list(parseFilters(req.query.filters)));
  });
  r.post('/networks/create', async (req, res) => {
    res.status(201).json(await service.create(req.body));
  });
  r.post('/networks/prune', async (req, res) => {
    const deleted = await service.prune(parseFilters(req.query.filters));
    res.json({ NetworksDeleted: deleted.length ? deleted : null });
  });
  r.get('/networks/:id', (req, res) => {
    res.json(networks.inspect(String(req.params.id)));
  });
  r.delete('/networks/:id', async (req, res) => {
    await service.remove(String(req.params.id));
    res.status(204).end();
  });
  r.post('/networks/:id/connect', async (req, res) => {
    await service.connect(String(req.params.id), req.body ?? {});
    res.status(200).end();
  });
  r.post('/networks/:id/disconnect', async (req, res) => {
    await service.disconnect(String(req.params.id), req.body ?? {});
    res.status(200).end();
  });
  return r;
}
