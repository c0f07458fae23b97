// GET /events: past events from `since`, then live ones; with `until`, the stream
// ends at that time.
import { Router } from 'express';
import { type EventBus, matchesEvent } from '../events/bus.js';
import { parseFilters, timeParam } from './format.js';

export function eventsRouter(bus: EventBus): Router {
  const r = Router();
  r.get('/events', (req, res) => {
    const filters = parseFilters(req.query.filters);
    const since = timeParam(req.query.since);
    const until = timeParam(req.query.until);
    const untilNs = until === undefined ? undefined : until * 1e9;
    res.status(200).setHeader('Content-Type', 'application/json');
    res.flushHeaders();
    const send = (e: Parameters<typeof matchesEvent>[0]) => {
      if (untilNs !== undefined && e.timeNano > untilNs) return;
      if (matchesEvent(e, filters)) res.write(`${JSON.stringify(e)}\n`);
    };
    const sub = bus.subscribe(since === undefined ? undefined : since * 1e9, send);
    for (const e of sub.past) send(e);
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      sub.cancel();
      clearTimeout(timer);
      res.end();
    };
    if (untilNs !== undefined) timer = setTimeout(finish, Math.max(0, untilNs / 1e6 - Date.now()));
    res.on('close', finish);
  });
  return r;
}
