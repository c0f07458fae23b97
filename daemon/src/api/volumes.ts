// /volumes/*: parses and formats; behaviour is VolumeService's.
import { Router } from 'express';
import { hasLabel, type Volume, type VolumeService } from '../volumes/service.js';
import { boolParam, parseFilters } from './format.js';

function view(v: Volume): object {
  const { Anonymous: _a, ...rest } = v;
  return { ...rest, Labels: v.Labels ?? {}, Options: v.Options ?? {} };
}

export function volumesRouter(volumes: VolumeService): Router {
  const r = Router();
  r.get('/volumes', (req, res) => {
    const filters = parseFilters(req.query.filters);
    let list = volumes.list();
    const dangling = filters.get('dangling');
    if (dangling?.length) {
      const want = dangling.includes('true') || dangling.includes('1');
      list = list.filter((v) => (volumes.users(v.Name).length === 0) === want);
    }
    const names = filters.get('name');
    if (names?.length) list = list.filter((v) => names.some((n) => v.Name.includes(n)));
    const labels = filters.get('label');
    if (labels?.length) {
      list = list.filter((v) => labels.every((l) => hasLabel(v, l)));
    }
    if (filters.get('driver')?.length) list = list.filter((v) => filters.get('driver')!.includes(v.Driver));
    res.json({ Volumes: list.map(view), Warnings: null });
  });
  r.post('/volumes/create', (req, res) => {
    res.status(201).json(view(volumes.create(req.body ?? {})));
  });
  r.post('/volumes/prune', (req, res) => {
    const filters = parseFilters(req.query.filters);
    const all = filters.get('all')?.some((v) => v === 'true' || v === '1') ?? false;
    res.json(volumes.prune(all, filters.get('label') ?? [], filters.get('label!') ?? []));
  });
  r.get('/volumes/:name', (req, res) => {
    res.json(view(volumes.get(String(req.params.name))));
  });
  r.delete('/volumes/:name', (req, res) => {
    volumes.remove(String(req.params.name), boolParam(req.query.force));
    res.status(204).end();
  });
  return r;
}
