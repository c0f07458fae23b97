// gRPC adapters for the Images, Content and Snapshots services of proto/images.proto:
// parse the request, call ImagesLocal, format the answer. Error kinds become gRPC
// codes in toGrpcError and nowhere else.
import { type Server, type ServerDuplexStream, type ServerWritableStream, type ServiceError, Metadata, status } from '@grpc/grpc-js';
import { DEFAULT_NAMESPACE, loadProto, NAMESPACE_METADATA_KEY } from '@berth/proto';
import type { ContentWriter } from './content/store.js';
import type { Descriptor, Platform } from './digest.js';
import { ImageError, type ImageErrorKind, invalidArgument } from './errors.js';
import { ImagesLocal } from './local.js';
import { walk } from './manifest.js';
import { parsePlatform } from './platform.js';
import type { Credentials } from './registry/client.js';
import type { Progress } from './registry/transfer.js';
import type { Mount, SnapshotInfo } from './snapshots/overlay.js';
import { checkNamespace, type Image } from './store/images.js';
import { SysError } from './sys.js';
import { chainIds } from './digest.js';

export interface ImageServiceContext {
  /** shimd's data root: content, snapshots and image metadata live below it. */
  root: string;
  /** Publishes an event to shimd's event stream. */
  publish(topic: string, namespace: string, event: object): void;
  /** 'overlay', 'copy' or 'auto' (default: overlay when a test mount works). */
  snapshotter?: 'overlay' | 'copy' | 'auto';
  /** Registries reached over plain http besides 127.0.0.0/8 and localhost. */
  insecureRegistries?: string[];
  /** Whether image layers may create device nodes (default: when root). */
  allowDevices?: boolean;
  /** Concurrent layer downloads per pull (default 3). */
  concurrency?: number;
  /**
   * shimd's namespaces: `resolve` fails with NotFound for one that does not exist,
   * `ensure` creates it (calls that create images, as containerd's metadata store
   * makes a namespace on first write). Without it any well-formed name is accepted.
   */
  namespaces?: { resolve(ns: string): string; ensure(ns: string): string };
}

const CODES: Record<ImageErrorKind, status> = {
  NotFound: status.NOT_FOUND,
  AlreadyExists: status.ALREADY_EXISTS,
  InvalidArgument: status.INVALID_ARGUMENT,
  FailedPrecondition: status.FAILED_PRECONDITION,
  Unavailable: status.UNAVAILABLE,
  PermissionDenied: status.PERMISSION_DENIED,
  Unauthenticated: status.UNAUTHENTICATED,
  DataLoss: status.DATA_LOSS,
  Internal: status.INTERNAL,
};

export function toGrpcError(err: unknown): Partial<ServiceError> {
  let code: status = status.INTERNAL;
  const message = err instanceof Error ? err.message : String(err);
  // shimd's own errors (e.g. an unknown namespace) carry a kind of the same names.
  const kind = (err as { kind?: unknown } | null)?.kind;
  if (err instanceof ImageError) code = CODES[err.kind];
  else if (typeof kind === 'string' && kind in CODES) code = CODES[kind as ImageErrorKind];
  else if (err instanceof SysError && (err.errno === 1 || err.errno === 13)) code = status.PERMISSION_DENIED;
  return { code, details: message, message, metadata: new Metadata() };
}

/** How a call treats its namespace: must exist, is created when missing, or is not used (shared stores). */
type NamespaceUse = 'existing' | 'create' | 'none';
type NamespaceResolver = (call: { metadata: Metadata }, use: NamespaceUse) => string;

function namespaceResolver(ctx: ImageServiceContext): NamespaceResolver {
  return (call, use) => {
    const v = call.metadata.get(NAMESPACE_METADATA_KEY)[0];
    const ns = checkNamespace(v ? String(v) : DEFAULT_NAMESPACE);
    if (use === 'none' || !ctx.namespaces) return ns;
    return use === 'create' ? ctx.namespaces.ensure(ns) : ctx.namespaces.resolve(ns);
  };
}

type Msg = any;

/** gRPC metadata naming the lease a Content.Write holds its blob under (created on first use, expires after an hour). */
export const LEASE_METADATA_KEY = 'berth-lease';

/** The unary and server-streaming adapters, resolving each call's namespace with `resolveNs`. */
function adapters(resolveNs: NamespaceResolver) {
  const unary =
    <Req, Res>(fn: (req: Req, ns: string) => Res | Promise<Res>, use: NamespaceUse = 'existing') =>
    (call: { request: Req; metadata: Metadata }, cb: (err: Partial<ServiceError> | null, res?: Res) => void) => {
      Promise.resolve()
        .then(() => fn(call.request, resolveNs(call, use)))
        .then(
          (res) => cb(null, res),
          (e) => cb(toGrpcError(e)),
        );
    };
  const serverStream =
    <Req>(fn: (req: Req, ns: string, write: (m: Msg) => void) => Promise<void>, use: NamespaceUse = 'existing') =>
    (call: ServerWritableStream<Req, Msg>) => {
      Promise.resolve()
        .then(() => fn(call.request, resolveNs(call, use), (m) => call.write(m)))
        .then(
          () => call.end(),
          (e) => call.emit('error', toGrpcError(e)),
        );
    };
  return {
    unary,
    serverStream,
    /** A call that creates images: its namespace springs into being. */
    creating: <Req, Res>(fn: (req: Req, ns: string) => Res | Promise<Res>) => unary(fn, 'create'),
    creatingStream: <Req>(fn: (req: Req, ns: string, write: (m: Msg) => void) => Promise<void>) => serverStream(fn, 'create'),
    /** A call on a store all namespaces share (content, snapshots, GC). */
    shared: <Req, Res>(fn: (req: Req, ns: string) => Res | Promise<Res>) => unary(fn, 'none'),
    sharedStream: <Req>(fn: (req: Req, ns: string, write: (m: Msg) => void) => Promise<void>) => serverStream(fn, 'none'),
  };
}

const platformOf = (s: string | undefined): Platform | undefined => (s ? parsePlatform(s) : undefined);
const authOf = (a: Msg): Credentials | undefined => (a?.username ? { username: a.username, password: a.password ?? '' } : undefined);

export function toPbDescriptor(d: Descriptor): Msg {
  return {
    media_type: d.mediaType,
    digest: d.digest,
    size: d.size,
    annotations: d.annotations ?? {},
    platform: d.platform ? { os: d.platform.os, architecture: d.platform.architecture, variant: d.platform.variant ?? '' } : null,
  };
}

export function fromPbDescriptor(m: Msg): Descriptor {
  if (!m) throw invalidArgument('descriptor is required');
  const d: Descriptor = { mediaType: m.media_type, digest: m.digest, size: Number(m.size) };
  if (m.annotations && Object.keys(m.annotations).length) d.annotations = m.annotations;
  if (m.platform?.os) d.platform = { os: m.platform.os, architecture: m.platform.architecture, ...(m.platform.variant ? { variant: m.platform.variant } : {}) };
  return d;
}

export function toPbImage(i: Image): Msg {
  return { name: i.name, target: toPbDescriptor(i.target), labels: i.labels, created_at: i.createdAt, updated_at: i.updatedAt };
}

const toPbProgress = (p: Progress): Msg => ({ id: p.id, status: p.status, current: p.current, total: p.total });
const toPbMount = (m: Mount): Msg => ({ type: m.type, source: m.source, target: '', options: m.options });
const toPbSnapshot = (s: SnapshotInfo): Msg => ({
  name: s.name,
  parent: s.parent ?? '',
  kind: s.kind,
  labels: s.labels,
  created_at: s.createdAt,
  updated_at: s.updatedAt,
});

function imageFilter(filters: string[]): ((i: Image) => boolean) | undefined {
  if (!filters?.length) return undefined;
  const preds = filters.map((f): ((i: Image) => boolean) => {
    let m = /^name==(.+)$/.exec(f);
    if (m) return (i) => i.name === m![1];
    m = /^name~=(.+)$/.exec(f);
    if (m) {
      let re: RegExp;
      try {
        re = new RegExp(m[1]);
      } catch {
        throw invalidArgument(`filter ${JSON.stringify(f)}: bad regular expression`);
      }
      return (i) => re.test(i.name);
    }
    m = /^labels\."?([^"=]+)"?==(.*)$/.exec(f);
    if (m) return (i) => i.labels[m![1]] === m![2];
    throw invalidArgument(`unsupported filter ${JSON.stringify(f)}: name==, name~= or labels."k"==v`);
  });
  return (i) => preds.some((p) => p(i));
}

export function registerImageServices(server: Server, ctx: ImageServiceContext): ImagesLocal {
  const local = new ImagesLocal({
    root: ctx.root,
    publish: ctx.publish,
    snapshotter: ctx.snapshotter,
    insecureRegistries: ctx.insecureRegistries,
    allowDevices: ctx.allowDevices,
    concurrency: ctx.concurrency,
  });
  const { unary, serverStream, creating, creatingStream, shared, sharedStream } = adapters(namespaceResolver(ctx));
  const v1 = (loadProto('images') as any).berth.images.v1;
  const snapshotterName = local.snapshots.mode === 'overlay' ? 'overlayfs' : 'native';

  server.addService(v1.Images.service, {
    Create: creating((req: Msg, ns) => {
      if (!req.image) throw invalidArgument('image is required');
      return { image: toPbImage(local.createImage(ns, { name: req.image.name, target: fromPbDescriptor(req.image.target), labels: req.image.labels })) };
    }),
    Get: unary((req: Msg, ns) => ({ image: toPbImage(local.getImage(ns, req.name)) })),
    List: unary((req: Msg, ns) => ({ images: local.images.list(ns, imageFilter(req.filters)).map(toPbImage) })),
    Update: unary((req: Msg, ns) => {
      if (!req.image?.name) throw invalidArgument('image.name is required');
      const mask: string[] = req.update_mask?.length ? req.update_mask : ['target', 'labels'];
      for (const f of mask) if (f !== 'target' && f !== 'labels') throw invalidArgument(`cannot update field ${JSON.stringify(f)}: target or labels`);
      const name = local.lookupName(ns, req.image.name);
      return {
        image: toPbImage(
          local.updateImage(ns, name, {
            target: mask.includes('target') ? fromPbDescriptor(req.image.target) : undefined,
            labels: mask.includes('labels') ? (req.image.labels ?? {}) : undefined,
          }),
        ),
      };
    }),
    Delete: unary((req: Msg, ns) => {
      local.deleteImage(ns, req.name);
      if (req.sync) local.gc();
      return {};
    }),
    Tag: creating((req: Msg, ns) => ({ image: toPbImage(local.tagImage(ns, req.source, req.target)) })),
    Pull: creatingStream(async (req: Msg, ns, write) => {
      if (!req.ref) throw invalidArgument('ref is required');
      const img = await local.pull(ns, req.ref, {
        platform: platformOf(req.platform),
        credentials: authOf(req.auth),
        unpack: !req.no_unpack,
        onProgress: (p) => write({ progress: toPbProgress(p) }),
      });
      write({ image: toPbImage(img) });
    }),
    Push: serverStream(async (req: Msg, ns, write) => {
      if (!req.name) throw invalidArgument('name is required');
      const d = await local.push(ns, req.name, {
        remote: req.remote || undefined,
        platform: platformOf(req.platform),
        credentials: authOf(req.auth),
        onProgress: (p) => write({ progress: toPbProgress(p) }),
      });
      write({ pushed: toPbDescriptor(d) });
    }),
    Import: creating(async (req: Msg, ns) => {
      if (!req.path) throw invalidArgument('path is required');
      const imgs = await local.importArchive(ns, req.path, { name: req.name || undefined, platform: platformOf(req.platform), unpack: !req.no_unpack });
      return { images: imgs.map(toPbImage) };
    }),
    Export: unary(async (req: Msg, ns) => {
      if (!req.path) throw invalidArgument('path is required');
      await local.exportArchive(ns, req.names ?? [], req.path, (req.format || 'oci') as 'oci' | 'docker', platformOf(req.platform));
      return {};
    }),
    Unpack: unary(async (req: Msg, ns) => ({ chain_id: await local.unpack(ns, req.name, platformOf(req.platform)) })),
    PrepareRootfs: unary(async (req: Msg, ns) => {
      if (!req.key) throw invalidArgument('key is required');
      const mounts = await local.prepareRootfs(ns, req.image, req.key, platformOf(req.platform));
      return { mounts: mounts.map(toPbMount), snapshotter: snapshotterName };
    }),
    GenerateSpec: unary(async (req: Msg, ns) => {
      let overrides = {};
      if (req.overrides_json) {
        try {
          overrides = JSON.parse(req.overrides_json);
        } catch {
          throw invalidArgument('overrides_json is not valid JSON');
        }
      }
      const spec = await local.generateSpec(ns, req.image, req.container_id, overrides, platformOf(req.platform));
      return { spec_json: JSON.stringify(spec) };
    }),
    Usage: unary((req: Msg, ns) => {
      const img = local.getImage(ns, req.name);
      const content_size = walk(local.content, img.target).reduce((n, d) => n + d.size, 0);
      const r = local.resolve(ns, req.name, platformOf(req.platform));
      let snapshot_size = 0;
      for (const c of chainIds(r.config.rootfs.diff_ids)) if (local.snapshots.exists(c)) snapshot_size += local.snapshots.usage(c).size;
      return { content_size, snapshot_size };
    }),
    GC: shared(() => {
      const r = local.gc();
      return { removed_blobs: r.blobs, removed_snapshots: r.snapshots };
    }),
  });

  const contentInfo = (d: string): Msg => {
    const i = local.content.info(d);
    return { digest: i.digest, size: i.size, created_at: i.createdAt, updated_at: i.updatedAt, labels: i.labels };
  };
  server.addService(v1.Content.service, {
    Info: shared((req: Msg) => ({ info: contentInfo(req.digest) })),
    Update: shared((req: Msg) => {
      local.content.setLabels(req.digest, req.labels ?? {});
      return { info: contentInfo(req.digest) };
    }),
    List: shared(() => ({ infos: local.content.list().map((i) => contentInfo(i.digest)) })),
    Delete: shared((req: Msg) => {
      local.content.delete(req.digest);
      ctx.publish('/content/delete', '', { digest: req.digest });
      return {};
    }),
    Read: sharedStream(async (req: Msg, _ns, write) => {
      let offset = Number(req.offset ?? 0);
      const size = local.content.info(req.digest).size;
      if (offset < 0 || offset > size) throw invalidArgument(`offset ${offset} is outside ${req.digest} (${size} bytes)`);
      for await (const c of local.content.readStream(req.digest, offset, Number(req.size ?? 0) || undefined)) {
        write({ offset, data: c });
        offset += (c as Buffer).length;
      }
    }),
    Write: (call: ServerDuplexStream<Msg, Msg>) => {
      let w: ContentWriter | undefined;
      let chain = Promise.resolve();
      let failed = false;
      // A client can hold what it writes under a lease it names (metadata LEASE_METADATA_KEY)
      // until an image refers to it; otherwise a committed blob is collectable at once.
      const leaseId = call.metadata.get(LEASE_METADATA_KEY)[0]?.toString();
      const handle = (req: Msg) => {
        const lease = leaseId ? local.leases.hold(leaseId) : undefined;
        if (!w) {
          if (!req.ref) throw invalidArgument('the first Write message must name the ingest (ref)');
          if (req.expected) lease?.addContent(req.expected);
          w = local.content.writer(req.ref, { digest: req.expected || undefined, size: Number(req.total) || undefined });
        }
        const action = req.action ?? 'STAT';
        const data: Buffer = req.data ?? Buffer.alloc(0);
        if (action === 'WRITE' || (action === 'COMMIT' && data.length)) {
          const off = Number(req.offset ?? 0);
          if (off !== w.offset) {
            if (off === 0) w.truncate();
            else throw new ImageError('FailedPrecondition', `ingest ${w.ref}: write at offset ${off}, but ${w.offset} bytes are there`);
          }
          w.write(data);
        }
        if (action === 'COMMIT') {
          if (req.expected) lease?.addContent(req.expected);
          const digest = w.commit({ size: Number(req.total) || undefined, digest: req.expected || undefined, labels: req.labels });
          lease?.addContent(digest);
          const total = w.offset;
          w = undefined;
          call.write({ action, offset: total, total, digest });
          return;
        }
        call.write({ action, offset: w.offset, total: Number(req.total) || 0, digest: '' });
      };
      call.on('data', (req: Msg) => {
        chain = chain.then(() => {
          if (failed) return;
          try {
            handle(req);
          } catch (e) {
            failed = true;
            w?.close();
            call.emit('error', toGrpcError(e));
          }
        });
      });
      call.on('end', () => {
        chain = chain.then(() => {
          w?.close();
          if (!failed) call.end();
        });
      });
      call.on('cancelled', () => w?.close());
    },
    ListStatuses: shared(() => ({
      statuses: local.content.ingests().map((s) => ({ ref: s.ref, offset: s.offset, total: s.total, expected: s.expected, started_at: s.startedAt, updated_at: s.updatedAt })),
    })),
    Abort: shared((req: Msg) => {
      local.content.abortIngest(req.ref);
      return {};
    }),
  });

  const mountsRes = (m: Mount[]) => ({ mounts: m.map(toPbMount), snapshotter: snapshotterName });
  server.addService(v1.Snapshots.service, {
    Prepare: shared((req: Msg) => mountsRes(local.snapshots.prepare(req.key, req.parent || undefined, req.labels ?? {}))),
    View: shared((req: Msg) => mountsRes(local.snapshots.view(req.key, req.parent || undefined, req.labels ?? {}))),
    Mounts: shared((req: Msg) => mountsRes(local.snapshots.mounts(req.key))),
    Commit: shared((req: Msg) => {
      local.snapshots.commit(req.name, req.key, req.labels);
      ctx.publish('/snapshot/commit', '', { key: req.key, name: req.name });
      return {};
    }),
    Remove: shared((req: Msg) => {
      local.snapshots.remove(req.key);
      ctx.publish('/snapshot/remove', '', { key: req.key });
      return {};
    }),
    Stat: shared((req: Msg) => ({ info: toPbSnapshot(local.snapshots.stat(req.key)) })),
    List: shared(() => ({ infos: local.snapshots.list().map(toPbSnapshot) })),
    Usage: shared((req: Msg) => local.snapshots.usage(req.key)),
  });
  return local;
}
