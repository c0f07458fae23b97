// Image commands: images, pull, push, rmi, tag, save, load, import, image prune.
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { type Cli, CliError, forEach, toArray } from '../cli.js';
import { readJsonStream } from '../client/jsonstream.js';
import { imageDigestsTable, imageFormat, imageRows } from '../format/contexts.js';
import { renderList } from '../format/output.js';
import { type JsonMessage, ProgressPrinter } from '../format/progress.js';
import { parseReference } from '../format/reference.js';
import { humanSize } from '../format/units.js';
import { command, confirm, filterOption, filtersJson, formatOption, noTruncOption, quietOption } from './common.js';
import { registryAuthHeader } from './config.js';
import { configFormat } from './container.js';
import { fullReference, pullImage } from './pull.js';

const enc = encodeURIComponent;

async function progress(cli: Cli, res: NodeJS.ReadableStream, quiet = false): Promise<JsonMessage[]> {
  const printer = new ProgressPrinter(cli.out, Boolean(cli.out.isTTY));
  const all: JsonMessage[] = [];
  await readJsonStream<JsonMessage>(res, (m) => {
    all.push(m);
    if (!quiet || m.error || m.errorDetail) printer.write(m);
  });
  return all;
}

export function commands(cli: Cli): CommandModule<any, any>[] {
  const c = cli.client;
  return [
    command('images [repository]', 'List images', {
      all: { alias: 'a', type: 'boolean', describe: 'Show all images (default hides intermediate images)' },
      digests: { type: 'boolean', describe: 'Show digests' },
      filter: filterOption,
      format: formatOption,
      'no-trunc': noTruncOption,
      quiet: quietOption,
    }, async (a) => {
      const filters = a.repository ? [...toArray(a.filter), `reference=${a.repository}`] : a.filter;
      const list: any[] = await c.get('/images/json', { all: a.all ? '1' : undefined, filters: filtersJson(filters), digests: a.digests ? '1' : undefined });
      const rows = list.flatMap((img) => imageRows(img, { noTrunc: a.noTrunc, digests: a.digests }));
      let fmt: string | undefined = a.format ?? configFormat(cli, 'imagesFormat');
      if (!a.format && a.digests) fmt = imageDigestsTable;
      if (a.quiet && !a.format) fmt = '{{.ID}}';
      cli.out.write(renderList(rows, fmt, imageFormat));
    }, { aliases: ['image-ls'] }),
    command('pull <image>', 'Download an image from a registry', {
      'all-tags': { alias: 'a', type: 'boolean', describe: 'Download all tagged images in the repository' },
      platform: { type: 'string', describe: 'Set platform if server is multi-platform capable' },
      quiet: { alias: 'q', type: 'boolean', describe: 'Suppress verbose output' },
    }, async (a) => {
      await pullImage(cli, a.image, { quiet: a.quiet, platform: a.platform, allTags: a.allTags });
      if (!a.allTags) cli.print(fullReference(a.image));
    }),
    command('push <image>', 'Upload an image to a registry', {
      'all-tags': { alias: 'a', type: 'boolean', describe: 'Push all tags of an image to the repository' },
      quiet: { alias: 'q', type: 'boolean', describe: 'Suppress verbose output' },
    }, async (a) => {
      const ref = parseReference(a.image);
      const name = a.image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
      const res = await c.stream('POST', `/images/${enc(name)}/push`, {
        query: { tag: a.allTags ? undefined : (ref.tag ?? 'latest') },
        headers: { 'X-Registry-Auth': 'e30', ...registryAuthHeader(cli.configDir, a.image) },
      });
      await progress(cli, res, a.quiet);
      if (a.quiet) cli.print(fullReference(a.image));
    }),
    command('rmi <images..>', 'Remove one or more images', {
      force: { alias: 'f', type: 'boolean', describe: 'Force removal of the image' },
      'no-prune': { type: 'boolean', describe: 'Do not delete untagged parents' },
    }, (a) => forEach(cli, toArray(a.images), async (img) => {
      const r: Array<{ Untagged?: string; Deleted?: string }> = await c.delete(`/images/${enc(img)}`, { force: a.force ? '1' : undefined, noprune: a.noPrune ? '1' : undefined });
      return (r ?? []).map((x) => (x.Untagged ? `Untagged: ${x.Untagged}` : `Deleted: ${x.Deleted}`)).join('\n');
    })),
    command('tag <source> <target>', 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', {}, async (a) => {
      const ref = parseReference(a.target);
      if (ref.digest) throw new CliError('refusing to create a tag with a digest reference');
      const repo = a.target.replace(/:[^/:]*$/, '');
      await c.post(`/images/${enc(a.source)}/tag`, { repo: ref.tag !== undefined ? repo : a.target, tag: ref.tag ?? 'latest' });
    }),
    command('save <images..>', 'Save one or more images to a tar archive (streamed to STDOUT by default)', {
      output: { alias: 'o', type: 'string', describe: 'Write to a file, instead of STDOUT' },
      platform: { type: 'string', describe: 'Save only the given platform variant' },
    }, async (a) => {
      if (!a.output && process.stdout.isTTY) throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
      const res = await c.stream('GET', '/images/get', { query: { names: toArray(a.images), platform: a.platform } });
      const out = a.output ? createWriteStream(a.output, { mode: 0o644 }) : process.stdout;
      await new Promise<void>((resolve, reject) => {
        res.pipe(out, { end: Boolean(a.output) });
        res.on('error', reject);
        if (a.output) out.on('finish', () => resolve());
        else res.on('end', () => resolve());
      });
    }),
    command('load', 'Load an image from a tar archive or STDIN', {
      input: { alias: 'i', type: 'string', describe: 'Read from tar archive file, instead of STDIN' },
      quiet: { alias: 'q', type: 'boolean', describe: 'Suppress the load output' },
      platform: { type: 'string', describe: 'Load only the given platform variant' },
    }, async (a) => {
      if (!a.input && cli.in.isTTY) throw new CliError('requested load from stdin, but stdin is empty');
      if (a.input && !existsSync(a.input)) throw new CliError(`open ${a.input}: no such file or directory`);
      const body = a.input ? createReadStream(a.input) : cli.in;
      const res = await c.stream('POST', '/images/load', { query: { quiet: a.quiet ? '1' : '0', platform: a.platform }, raw: body, contentType: 'application/x-tar' });
      if ((res.headers['content-type'] ?? '').includes('json')) await progress(cli, res, false);
      else res.pipe(cli.out);
    }),
    command('import <file> [reference]', 'Import the contents from a tarball to create a filesystem image', {
      change: { alias: 'c', type: 'string', describe: 'Apply Dockerfile instruction to the created image' },
      message: { alias: 'm', type: 'string', describe: 'Set commit message for imported image' },
      platform: { type: 'string', describe: 'Set platform if server is multi-platform capable' },
    }, async (a) => {
      // yargs hands a lone `-` positional over as `true`.
      if (a.file === true) a.file = '-';
      const isUrl = /^https?:\/\//.test(a.file);
      if (!isUrl && a.file !== '-' && !existsSync(a.file)) throw new CliError(`open ${a.file}: no such file or directory`);
      const ref = a.reference ? parseReference(a.reference) : undefined;
      const repo = a.reference ? a.reference.replace(/:[^/:]*$/, '') : undefined;
      const res = await c.stream('POST', '/images/create', {
        query: { fromSrc: isUrl ? a.file : '-', repo, tag: ref?.tag, message: a.message, changes: toArray(a.change), platform: a.platform },
        raw: isUrl ? Buffer.alloc(0) : a.file === '-' ? process.stdin : createReadStream(a.file),
      });
      const msgs: JsonMessage[] = [];
      const printer = new ProgressPrinter(cli.err, Boolean(cli.err.isTTY));
      await readJsonStream<JsonMessage>(res, (m) => {
        msgs.push(m);
        if (m.error || m.errorDetail) printer.write(m);
      });
      const last = msgs.reverse().find((m) => m.status);
      if (last?.status) cli.print(last.status);
    }),
    command('image-prune', 'Remove unused images', {
      all: { alias: 'a', type: 'boolean', describe: 'Remove all unused images, not just dangling ones' },
      filter: { type: 'string', describe: 'Provide filter values' },
      force: { alias: 'f', type: 'boolean', describe: 'Do not prompt for confirmation' },
    }, async (a) => {
      const warn = a.all ? 'WARNING! This will remove all images without at least one container associated to them.' : 'WARNING! This will remove all dangling images.';
      if (!a.force && !(await confirm(cli, `${warn}\nAre you sure you want to continue?`))) return;
      const filters = [...toArray(a.filter), `dangling=${a.all ? 'false' : 'true'}`];
      const r = await c.post('/images/prune', { filters: filtersJson(filters) });
      const deleted: Array<{ Untagged?: string; Deleted?: string }> = r?.ImagesDeleted ?? [];
      if (deleted.length) cli.out.write(`Deleted Images:\n${deleted.map((x) => (x.Untagged ? `untagged: ${x.Untagged}` : `deleted: ${x.Deleted}\n\n`)).join('\n')}\n`);
      cli.print(`Total reclaimed space: ${humanSize(r?.SpaceReclaimed ?? 0)}`);
    }),
  ];
}
