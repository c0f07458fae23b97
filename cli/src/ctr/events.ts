import { parseFlags } from './args.js';
import type { ShimdClient } from './client.js';

/** Prints events as they come: TIME NAMESPACE TOPIC EVENT, like ctr events. */
export function events(c: ShimdClient, argv: string[]): Promise<number> {
  const p = parseFlags(argv, { multi: ['topic', 'namespace'], bools: ['json'] });
  return new Promise((resolve) => {
    const stream = c.events.Subscribe({ topics: p.multi.topic ?? [], namespaces: p.multi.namespace ?? [] }, c.metadata);
    stream.on('data', (e: any) => {
      if (p.flags.json) process.stdout.write(`${JSON.stringify({ ...e, event: JSON.parse(e.event || '{}') })}\n`);
      else process.stdout.write(`${e.timestamp} ${e.namespace} ${e.topic} ${e.event}\n`);
    });
    stream.on('error', (err: any) => {
      if (err?.code !== 1 /* CANCELLED */) process.stderr.write(`berth ctr: events: ${err?.details ?? err}\n`);
      resolve(err?.code === 1 ? 0 : 1);
    });
    stream.on('end', () => resolve(0));
    const stop = () => stream.cancel();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
