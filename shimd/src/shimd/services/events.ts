import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { invalidArgument } from '../../errors.js';
import type { Exchange } from '../events.js';
import type { Metadata } from '../metadata.js';
import { unary } from './common.js';

export function eventsService(meta: Metadata, exchange: Exchange): UntypedServiceImplementation {
  return {
    Subscribe: (call: ServerWritableStream<any, any>) => {
      const unsubscribe = exchange.subscribe(
        { topics: call.request.topics ?? [], namespaces: call.request.namespaces ?? [] },
        (env) => call.write(env),
      );
      call.on('cancelled', unsubscribe);
      call.on('close', unsubscribe);
      call.on('error', unsubscribe);
    },
    Publish: unary<any, any>(meta, (req, ns) => {
      if (!req.topic?.startsWith('/')) throw invalidArgument(`topic ${JSON.stringify(req.topic)} must start with "/"`);
      let event: object;
      try {
        event = JSON.parse(req.event || '{}');
      } catch (err) {
        throw invalidArgument(`event is not JSON: ${(err as Error).message}`);
      }
      exchange.publish(ns, req.topic, event);
      return {};
    }),
  };
}
