import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { invalidArgument } from '../../errors.js';
import type { Metadata } from '../metadata.js';
import type { Tasks } from '../tasks.js';
import { unary } from './common.js';

export function namespacesService(meta: Metadata, tasks: Tasks): UntypedServiceImplementation {
  return {
    Create: unary<any, any>(undefined, (req) => {
      if (!req.namespace) throw invalidArgument('namespace is required');
      return meta.createNamespace(req.namespace.name, req.namespace.labels);
    }),
    Get: unary<any, any>(undefined, (req) => meta.getNamespace(req.name)),
    List: unary<any, any>(undefined, () => ({ namespaces: meta.listNamespaces() })),
    Update: unary<any, any>(undefined, (req) => {
      if (!req.namespace) throw invalidArgument('namespace is required');
      return meta.updateNamespace(req.namespace.name, req.namespace.labels);
    }),
    Delete: unary<any, any>(undefined, (req) => {
      meta.deleteNamespace(req.name, (ns) => tasks.hasTasks(ns));
      tasks.removeNamespaceCgroups(req.name);
      return {};
    }),
  };
}
