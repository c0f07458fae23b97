// berthd's gRPC client of berth-shimd (proto/shimd.proto): promise wrappers of the
// unary calls, every call made in berthd's namespace. gRPC status codes become
// DaemonError kinds here, the one place berthd translates shimd's errors.
import * as grpc from '@grpc/grpc-js';
import { grpcTarget, loadProto, namespaceMetadata, shimdApi } from '@berth/proto';
import { DaemonError, type ErrorKind } from '../errors.js';

const KIND: Partial<Record<grpc.status, ErrorKind>> = {
  [grpc.status.NOT_FOUND]: 'not-found',
  [grpc.status.ALREADY_EXISTS]: 'conflict',
  [grpc.status.FAILED_PRECONDITION]: 'conflict',
  [grpc.status.INVALID_ARGUMENT]: 'invalid-argument',
  [grpc.status.UNAVAILABLE]: 'unavailable',
  [grpc.status.UNIMPLEMENTED]: 'not-implemented',
  [grpc.status.PERMISSION_DENIED]: 'forbidden',
};

export function fromGrpc(err: unknown): DaemonError {
  const e = err as grpc.ServiceError;
  if (e instanceof DaemonError) return e;
  const kind = (typeof e?.code === 'number' && KIND[e.code as grpc.status]) || 'internal';
  return new DaemonError(kind, e?.details || e?.message || String(err), { cause: err });
}

export function isNotFound(err: unknown): boolean {
  return err instanceof DaemonError ? err.kind === 'not-found' : (err as grpc.ServiceError)?.code === grpc.status.NOT_FOUND;
}

export interface ShimdMount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface ShimdEnvelope {
  timestamp: string;
  namespace: string;
  topic: string;
  event: any;
}

export type ServiceName = 'Namespaces' | 'Containers' | 'Tasks' | 'Events' | 'Images' | 'Content' | 'Snapshots';

type Unary = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => void;

/** One connection to berth-shimd, bound to one namespace. */
export class ShimdClient {
  private readonly clients: Record<ServiceName, grpc.Client>;

  constructor(
    readonly address: string,
    readonly namespace: string,
  ) {
    const api = shimdApi();
    const target = grpcTarget(address);
    const creds = grpc.credentials.createInsecure();
    const channel = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
    const ns = new api.Namespaces(target, creds, channel);
    const opts = { channelOverride: (ns as any).getChannel() } as grpc.ClientOptions;
    this.clients = {
      Namespaces: ns,
      Containers: new api.Containers(target, creds, opts),
      Tasks: new api.Tasks(target, creds, opts),
      Events: new api.Events(target, creds, opts),
    } as unknown as Record<ServiceName, grpc.Client>;
    const images = (loadProto('images') as any)?.berth?.images?.v1;
    for (const name of ['Images', 'Content', 'Snapshots'] as const) {
      if (images?.[name]) this.clients[name] = new images[name](target, creds, opts);
    }
  }

  has(service: ServiceName): boolean {
    return !!this.clients[service];
  }

  call<T = any>(service: ServiceName, method: string, req: object, deadlineMs?: number): Promise<T> {
    const client = this.clients[service] as unknown as Record<string, Unary>;
    const fn = client?.[method];
    if (!fn) throw new Error(`shimd ${service}.${method} does not exist`);
    const opts: grpc.CallOptions = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
    return new Promise<T>((resolve, reject) => {
      fn.call(client, req, namespaceMetadata(this.namespace), opts, (err, res) => {
        if (err) reject(fromGrpc(err));
        else resolve(res as T);
      });
    });
  }

  /** Waits until shimd answers (it may still be starting). */
  async ready(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.clients.Namespaces.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())),
    ).catch((e) => {
      throw new DaemonError('unavailable', `berth-shimd is not reachable at ${this.address}: ${(e as Error).message}`);
    });
  }

  async ensureNamespace(): Promise<void> {
    try {
      await this.call('Namespaces', 'Get', { name: this.namespace });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await this.call('Namespaces', 'Create', { namespace: { name: this.namespace, labels: {} } });
      } catch (e2) {
        if ((e2 as DaemonError).kind !== 'conflict') throw e2;
      }
    }
  }

  /** A server-streaming call; resolves with every message once the stream ends. */
  stream<T = any>(service: ServiceName, method: string, req: object, onMessage?: (m: T) => void): Promise<T[]> {
    const client = this.clients[service] as unknown as Record<string, (req: object, md: grpc.Metadata) => grpc.ClientReadableStream<T>>;
    const fn = client?.[method];
    if (!fn) return Promise.reject(new Error(`shimd ${service}.${method} does not exist`));
    const call = fn.call(client, req, namespaceMetadata(this.namespace));
    const out: T[] = [];
    return new Promise<T[]>((resolve, reject) => {
      call.on('data', (m: T) => {
        out.push(m);
        onMessage?.(m);
      });
      call.on('error', (e) => reject(fromGrpc(e)));
      call.on('end', () => resolve(out));
    });
  }

  /**
   * Subscribes to this namespace's events. Calls onEvent per event and onEnd when
   * the stream breaks (shimd restarted); returns a cancel function.
   */
  subscribe(topics: string[], onEvent: (e: ShimdEnvelope) => void, onEnd: (err?: Error) => void): () => void {
    const client = this.clients.Events as unknown as Record<string, (req: object, md: grpc.Metadata) => grpc.ClientReadableStream<any>>;
    const stream = client.Subscribe!.call(client, { topics, namespaces: [this.namespace] }, namespaceMetadata(this.namespace));
    let ended = false;
    stream.on('data', (env: { timestamp: string; namespace: string; topic: string; event: string }) => {
      let event: any = {};
      try {
        event = env.event ? JSON.parse(env.event) : {};
      } catch {}
      onEvent({ ...env, event });
    });
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    stream.on('error', (err) => end(err));
    stream.on('end', () => end());
    return () => {
      ended = true;
      stream.cancel();
    };
  }

  close(): void {
    for (const c of Object.values(this.clients)) c.close();
  }
}
