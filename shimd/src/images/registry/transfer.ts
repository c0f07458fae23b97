// Pull and push over a RegistryClient, into and out of the content store.
import type { ContentStore } from '../content/store.js';
import { type Descriptor, type Index, isIndexType, isManifestType, type Manifest, MediaType, type Platform, parseDigest, sha256 } from '../digest.js';
import { ImageError, invalidArgument } from '../errors.js';
import { sniffMediaType, walk } from '../manifest.js';
import { DEFAULT_PLATFORM, selectManifest } from '../platform.js';
import type { Reference } from '../reference.js';
import type { RegistryClient } from './client.js';
import { readBody } from './http.js';

export interface Progress {
  /** Short id (12 hex digits of the digest, as docker shows) or the ref for whole-image messages. */
  id: string;
  status: string;
  current: number;
  total: number;
}

export interface TransferOptions {
  platform?: Platform;
  concurrency?: number;
  /** Attempts per request before giving up (default 4). */
  retries?: number;
  /** First retry delay in ms, doubled per attempt up to 5 s (default 250). */
  backoffMs?: number;
  /** Called with each blob the transfer relies on, before it is checked or written (a GC lease). */
  hold?: (digest: string) => void;
  onProgress?: (p: Progress) => void;
}

const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(', ');

export const sourceLabel = (host: string) => `berth.io/distribution.source.${host}`;

export async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}

interface RetryPolicy {
  attempts: number;
  backoffMs: number;
}

/**
 * Runs fn until it succeeds, retrying transient failures (connection errors, resets
 * mid-body, 5xx and 429) with exponential backoff; other errors fail at once.
 */
async function retry<T>(policy: RetryPolicy, what: string, fn: () => Promise<T>, onRetry?: (delayMs: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const transient = !(e instanceof ImageError) || e.kind === 'Unavailable';
      if (!transient) throw e;
      if (attempt >= policy.attempts) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new ImageError('Unavailable', `${what}: giving up after ${attempt} attempts: ${msg}`, { cause: e });
      }
      const delay = Math.min(5000, policy.backoffMs * 2 ** (attempt - 1));
      onRetry?.(delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

const policyOf = (opts: TransferOptions): RetryPolicy => ({ attempts: Math.max(1, opts.retries ?? 4), backoffMs: opts.backoffMs ?? 250 });

const short = (d: string) => d.slice(7, 19);

/** Fetches a manifest or index by tag or digest into the content store; returns its descriptor. */
async function fetchManifest(client: RegistryClient, ref: Reference, reference: string, content: ContentStore, scope: string, policy: RetryPolicy, hold: (d: string) => void): Promise<Descriptor> {
  return retry(policy, `${client.host}: manifest ${ref.path}:${reference}`, async () => {
    const res = await client.fetch(`/v2/${ref.path}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT }, scope });
    if (res.status !== 200) await client.fail(res, `manifest ${ref.path}:${reference}`);
    const body = await readBody(res, 4 << 20);
    const digest = sha256(body);
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new ImageError('DataLoss', `${client.host}: manifest ${reference} has digest ${digest}`);
    }
    const header = res.headers['docker-content-digest'];
    if (typeof header === 'string' && header.startsWith('sha256:') && header !== digest) {
      throw new ImageError('DataLoss', `${client.host}: manifest digest ${digest} does not match Docker-Content-Digest ${header}`);
    }
    const ct = (res.headers['content-type'] ?? '').split(';')[0].trim();
    const doc = JSON.parse(body.toString('utf8'));
    hold(digest);
    const mediaType = doc.mediaType ?? (isIndexType(ct) || isManifestType(ct) ? ct : sniffMediaType(doc));
    content.writeBlob(body, { digest }, { [sourceLabel(ref.domain)]: ref.path });
    return { mediaType, digest, size: body.length };
  });
}

export interface PullResult {
  /** The top descriptor (an index when the registry has one), the image's target. */
  target: Descriptor;
  manifest: Descriptor;
}

export async function pullImage(client: RegistryClient, ref: Reference, content: ContentStore, opts: TransferOptions = {}): Promise<PullResult> {
  const policy = policyOf(opts);
  const hold = opts.hold ?? (() => {});
  const scope = `repository:${ref.path}:pull`;
  const progress = opts.onProgress ?? (() => {});
  const target = await fetchManifest(client, ref, ref.digest ?? ref.tag ?? 'latest', content, scope, policy, hold);
  let manifestDesc = target;
  if (isIndexType(target.mediaType)) {
    const idx = content.readJson<Index>(target.digest);
    const pick = selectManifest(idx.manifests, opts.platform ?? DEFAULT_PLATFORM);
    const got = await fetchManifest(client, ref, pick.digest, content, scope, policy, hold);
    manifestDesc = { ...got, platform: pick.platform };
  }
  if (!isManifestType(manifestDesc.mediaType)) throw invalidArgument(`${ref.path}: unsupported manifest type ${manifestDesc.mediaType}`);
  const manifest = content.readJson<Manifest>(manifestDesc.digest);
  const blobs = [manifest.config, ...manifest.layers];
  for (const d of blobs) hold(d.digest);
  for (const l of manifest.layers) progress({ id: short(l.digest), status: content.has(l.digest) ? 'Already exists' : 'Pulling fs layer', current: 0, total: l.size });
  await mapLimit(blobs, opts.concurrency ?? 3, async (d) => {
    parseDigest(d.digest);
    const isLayer = d !== manifest.config;
    if (content.has(d.digest)) return;
    if (d.urls?.length && d.mediaType.includes('foreign')) throw invalidArgument(`${ref.path}: foreign layer ${d.digest} (from ${d.urls[0]}) is not supported`);
    const ingest = `pull-${d.digest}`;
    const fetchBlob = async () => {
      // An earlier, interrupted download of this blob (an earlier attempt, or a pull cut
      // short) continues with a range request.
      const have = content.ingestOffset(ingest);
      const range = have > 0 && have < d.size ? { range: `bytes=${have}-` } : undefined;
      const res = await client.fetch(`/v2/${ref.path}/blobs/${d.digest}`, { scope, headers: range });
      if (res.status !== 200 && res.status !== 206) await client.fail(res, `blob ${d.digest}`);
      const resumeAt = res.status === 206 && /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1] === String(have) ? have : undefined;
      if (isLayer && resumeAt) progress({ id: short(d.digest), status: 'Resuming', current: resumeAt, total: d.size });
      let last = 0;
      await content.writeFrom(
        ingest,
        res.body,
        { digest: d.digest, size: d.size },
        (n) => {
          // A progress event every MiB or so keeps the stream readable.
          if (isLayer && (n - last >= 1 << 20 || n === d.size)) {
            last = n;
            progress({ id: short(d.digest), status: 'Downloading', current: n, total: d.size });
          }
        },
        resumeAt,
        { keepOnSourceError: true },
      );
    };
    try {
      // Docker's pull stream says the same: "Retrying in N seconds".
      const onRetry = (ms: number) => isLayer && progress({ id: short(d.digest), status: `Retrying in ${Math.max(1, Math.round(ms / 1000))} second${ms >= 1500 ? 's' : ''}`, current: 0, total: d.size });
      await retry(policy, `${client.host}: blob ${d.digest}`, fetchBlob, onRetry);
    } catch (e) {
      // Given up: nothing of this blob stays behind (between attempts the data was kept to resume).
      try {
        content.abortIngest(ingest);
      } catch {
        // no ingest left
      }
      throw e;
    }
    content.setLabels(d.digest, { [sourceLabel(ref.domain)]: ref.path });
    if (isLayer) progress({ id: short(d.digest), status: 'Download complete', current: d.size, total: d.size });
  });
  return { target, manifest: manifestDesc };
}

/** The descriptor to push: the index if all its manifests are here, else the platform's manifest. */
export function pushTarget(content: ContentStore, target: Descriptor, platform?: Platform): Descriptor {
  if (!isIndexType(target.mediaType)) return target;
  const idx = content.readJson<Index>(target.digest);
  const present = idx.manifests.filter((m) => content.has(m.digest));
  if (present.length === idx.manifests.length) return target;
  const pick = selectManifest(present, platform ?? DEFAULT_PLATFORM);
  return { mediaType: pick.mediaType, digest: pick.digest, size: pick.size };
}

export async function pushImage(client: RegistryClient, ref: Reference, content: ContentStore, target: Descriptor, opts: TransferOptions = {}): Promise<Descriptor> {
  const policy = policyOf(opts);
  const scope = `repository:${ref.path}:pull,push`;
  const progress = opts.onProgress ?? (() => {});
  const top = pushTarget(content, target, opts.platform);
  const all = walk(content, top);
  const manifests = all.filter((d) => isIndexType(d.mediaType) || isManifestType(d.mediaType)).reverse(); // children first
  const blobs = all.filter((d) => !isIndexType(d.mediaType) && !isManifestType(d.mediaType));
  await mapLimit(blobs, opts.concurrency ?? 3, async (d) => {
    const id = short(d.digest);
    progress({ id, status: 'Preparing', current: 0, total: d.size });
    const head = await client.fetch(`/v2/${ref.path}/blobs/${d.digest}`, { method: 'HEAD', scope });
    head.body.resume();
    if (head.status === 200) {
      progress({ id, status: 'Layer already exists', current: d.size, total: d.size });
      return;
    }
    if (head.status !== 404) await client.fail(head, `blob ${d.digest}`);
    // Cross-repository mount when the blob came from another repository of this registry.
    const from = content.labels(d.digest)[sourceLabel(ref.domain)];
    let location: string | undefined;
    if (from && from !== ref.path) {
      const mscope = `${scope} repository:${from}:pull`;
      const res = await client.fetch(`/v2/${ref.path}/blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(from)}`, { method: 'POST', body: Buffer.alloc(0), scope: mscope });
      res.body.resume();
      if (res.status === 201) {
        progress({ id, status: `Mounted from ${from}`, current: d.size, total: d.size });
        return;
      }
      if (res.status === 202 && res.headers.location) location = res.headers.location;
    }
    await retry(policy, `${client.host}: upload of ${d.digest}`, async () => {
      let loc = location;
      location = undefined;
      if (!loc) {
        const res = await client.fetch(`/v2/${ref.path}/blobs/uploads/`, { method: 'POST', body: Buffer.alloc(0), scope });
        res.body.resume();
        if (res.status !== 202 || !res.headers.location) await client.fail(res, `start upload of ${d.digest}`);
        loc = res.headers.location!;
      }
      const url = new URL(loc, client.base);
      url.searchParams.set('digest', d.digest);
      progress({ id, status: 'Pushing', current: 0, total: d.size });
      const put = await client.fetch(url.toString(), {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(d.size) },
        body: content.readStream(d.digest),
        scope,
      });
      if (put.status !== 201) await client.fail(put, `upload of ${d.digest}`);
      put.body.resume();
      progress({ id, status: 'Pushed', current: d.size, total: d.size });
    });
  });
  for (const m of manifests) {
    const tag = m.digest === top.digest && ref.tag && !ref.digest ? ref.tag : m.digest;
    const body = content.readBytes(m.digest);
    await retry(policy, `${client.host}: manifest ${m.digest}`, async () => {
      const res = await client.fetch(`/v2/${ref.path}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': m.mediaType }, body, scope });
      if (res.status !== 201 && res.status !== 200) await client.fail(res, `put manifest ${tag}`);
      res.body.resume();
    });
  }
  progress({ id: ref.tag ?? short(top.digest), status: `digest: ${top.digest} size: ${top.size}`, current: 0, total: 0 });
  return top;
}
