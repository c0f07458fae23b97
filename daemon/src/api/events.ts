// GET /events: past events from `since`, then live ones; with `until`, the stream
// ends at that time.
import { Router } from 'express';
import { type EventBus, eventJson, matchesEvent } from '../events/bus.js';
import { parseFilters, timeParamNs } from './format.js';

export function eventsRouter(bus: EventBus): Router {
  const r = Router();
  r.get('/events', (req, res) => {
    const filters = parseFilters(req.query.filters);
    const sinceNs = timeParamNs(req.query.since);
    const untilNs = timeParamNs(req.query.until);
    res.status(200).setHeader('Content-Type', 'application/json');
    res.flushHeaders();
    const send = (e: Parameters<typeof matchesEvent>[0]) => {
      if (untilNs !== undefined && e.timeNano > untilNs) return;
      if (matchesEvent(e, filters)) res.write(`${eventJson(e)}\n`);
    };
    const sub = bus.subscribe(sinceNs, send);
    for (const e of sub.past) send(e);
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      sub.cancel();
      clearTimeout(timer);
      res.end();
    };
    if (untilNs !== undefined) timer = setTimeout(finish, Math.max(0, Number(untilNs / 1_000_000n) - Date.now()));
    res.on('close', finish);
  });
  return r;
}
