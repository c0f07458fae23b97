// Pulling an image with progress, shared by `pull`, `run` and `create`.
import type { Cli } from '../cli.js';
import { readJsonStream } from '../client/jsonstream.js';
import { type JsonMessage, ProgressPrinter } from '../format/progress.js';
import { parseReference } from '../format/reference.js';
import { registryAuthHeader } from './config.js';

export async function pullImage(
  cli: Cli,
  image: string,
  opts: { quiet?: boolean; platform?: string; allTags?: boolean; out?: NodeJS.WritableStream & { isTTY?: boolean } } = {},
): Promise<void> {
  const ref = parseReference(image);
  let fromImage = image;
  if (ref.digest) fromImage = image.slice(0, image.indexOf('@'));
  if (ref.tag !== undefined) fromImage = fromImage.slice(0, fromImage.lastIndexOf(':'));
  const tag = ref.digest ?? (opts.allTags ? undefined : (ref.tag ?? 'latest'));
  const res = await cli.client.stream('POST', '/images/create', {
    query: { fromImage, tag, platform: opts.platform },
    headers: registryAuthHeader(cli.configDir, image),
  });
  const out = opts.out ?? cli.out;
  const printer = new ProgressPrinter(out, Boolean(out.isTTY));
  await readJsonStream<JsonMessage>(res, (m) => {
    if (!opts.quiet || m.error || m.errorDetail) printer.write(m);
  });
}

/** The fully qualified reference docker prints after a pull (docker.io/library/busybox:latest). */
export function fullReference(image: string): string {
  const r = parseReference(image);
  if (r.digest) return `${r.name}@${r.digest}`;
  return `${r.name}:${r.tag ?? 'latest'}`;
}
