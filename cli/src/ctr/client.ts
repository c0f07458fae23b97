// gRPC clients of berth-shimd for `berth ctr`, with promise-returning calls that
// carry the namespace in the call metadata.
import * as grpc from '@grpc/grpc-js';
import { grpcTarget, loadProto, namespaceMetadata, shimdApi } from '@berth/proto';

export interface Globals {
  address: string;
  namespace: string;
}

export type Call = <T = any>(method: string, req: object) => Promise<T>;

export interface ShimdClient {
  namespaces: Call;
  containers: Call;
  tasks: Call;
  /** The image services (loaded on first use: only commands that use images pay for images.proto). */
  images: Call;
  snapshots: Call;
  events: grpc.Client & Record<string, any>;
  metadata: grpc.Metadata;
  /** The namespace the calls act in. */
  namespace: string;
  close(): void;
}

export function connect(g: Globals): ShimdClient {
  const api = shimdApi();
  const target = grpcTarget(g.address);
  const creds = grpc.credentials.createInsecure();
  const clients: grpc.Client[] = [];
  const metadata = namespaceMetadata(g.namespace);
  const mk = (Ctor: grpc.ServiceClientConstructor): Call => {
    const c = new Ctor(target, creds) as grpc.Client & Record<string, any>;
    clients.push(c);
    return (method, req) =>
      new Promise((resolve, reject) => {
        c[method]!(req, metadata, (err: grpc.ServiceError | null, res: any) => (err ? reject(err) : resolve(res)));
      });
  };
  const events = new api.Events(target, creds) as grpc.Client & Record<string, any>;
  clients.push(events);
  let imageApi: Record<string, grpc.ServiceClientConstructor> | undefined;
  const lazy = (service: string): Call => {
    let call: Call | undefined;
    return (method, req) => {
      imageApi ??= (loadProto('images') as any).berth.images.v1 as Record<string, grpc.ServiceClientConstructor>;
      call ??= mk(imageApi[service]!);
      return call(method, req);
    };
  };
  return {
    namespaces: mk(api.Namespaces),
    containers: mk(api.Containers),
    tasks: mk(api.Tasks),
    images: lazy('Images'),
    snapshots: lazy('Snapshots'),
    events,
    metadata,
    namespace: g.namespace,
    close: () => {
      for (const c of clients) c.close();
    },
  };
}

/** "ctr: <message>" for a gRPC error, as containerd's ctr prints it. */
export function describeError(err: unknown): string {
  const e = err as grpc.ServiceError;
  if (e && typeof e.code === 'number') {
    const name = grpc.status[e.code] ?? String(e.code);
    if (e.code === grpc.status.UNAVAILABLE && /ENOENT|ECONNREFUSED|No connection/i.test(e.details ?? '')) {
      return `cannot connect to berth-shimd: ${e.details}`;
    }
    return `${e.details || e.message} (${name})`;
  }
  return err instanceof Error ? err.message : String(err);
}
