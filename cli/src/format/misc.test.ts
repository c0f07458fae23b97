import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { statsRow } from '../commands/container.js';
import { formatEvent } from '../commands/system.js';
import { ProgressPrinter, progressBar, StreamError } from './progress.js';

function collect(tty: boolean) {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c) => chunks.push(String(c)));
  return { printer: new ProgressPrinter(out, tty), text: () => chunks.join('') };
}

describe('progress', () => {
  it('draws docker-style bars', () => {
    expect(progressBar(0, 100)).toBe(`[>${' '.repeat(49)}]  0B/100B`);
    expect(progressBar(50, 100)).toBe(`[${'='.repeat(25)}>${' '.repeat(24)}]  50B/100B`);
    expect(progressBar(100, 100)).toBe(`[${'='.repeat(50)}]  100B/100B`);
  });

  it('prints plain lines when not on a terminal', () => {
    const c = collect(false);
    c.printer.write({ status: 'Pulling from library/busybox', id: 'latest' });
    c.printer.write({ status: 'Downloading', id: 'abc', progressDetail: { current: 5, total: 10 } });
    c.printer.write({ status: 'Pushing', id: 'abc', progressDetail: {} });
    c.printer.write({ status: 'Digest: sha256:1' });
    // As docker: a message with a progress bar is dropped off a terminal.
    expect(c.text()).toBe('latest: Pulling from library/busybox\nabc: Pushing\nDigest: sha256:1\n');
  });

  it('rewrites a layer line in place on a terminal', () => {
    const c = collect(true);
    c.printer.write({ status: 'Pulling fs layer', id: 'a' });
    c.printer.write({ status: 'Pulling fs layer', id: 'b' });
    c.printer.write({ status: 'Downloading', id: 'a', progressDetail: { current: 1, total: 2 } });
    expect(c.text()).toBe(`a: Pulling fs layer\nb: Pulling fs layer\n\x1b[2A\r\x1b[2Ka: Downloading ${progressBar(1, 2)}\r\x1b[2B`);
  });

  it('turns an error message into an error', () => {
    expect(() => collect(false).printer.write({ errorDetail: { message: 'denied' }, error: 'denied' })).toThrow(StreamError);
  });
});

describe('stats and events', () => {
  it('computes the docker stats columns from a sample', () => {
    const row = statsRow({
      id: 'f'.repeat(64),
      name: '/cli-web',
      cpu_stats: { cpu_usage: { total_usage: 400 }, system_cpu_usage: 2000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 200 }, system_cpu_usage: 1000 },
      memory_stats: { usage: 3 * 1024 * 1024, limit: 100 * 1024 * 1024, stats: { cache: 1024 * 1024 } },
      networks: { eth0: { rx_bytes: 1500, tx_bytes: 500 } },
      blkio_stats: { io_service_bytes_recursive: [{ op: 'Read', value: 4096 }, { op: 'Write', value: 0 }] },
      pids_stats: { current: 3 },
    });
    expect(row).toEqual({
      ID: 'ffffffffffff',
      Container: 'ffffffffffff',
      Name: 'cli-web',
      CPUPerc: '40.00%',
      MemUsage: '2MiB / 100MiB',
      MemPerc: '2.00%',
      NetIO: '1.5kB / 500B',
      BlockIO: '4.1kB / 0B',
      PIDs: '3',
    });
  });

  it('prints events as docker does', () => {
    const e = { Type: 'container', Action: 'start', Actor: { ID: 'abc', Attributes: { name: 'cli-x', image: 'busybox' } }, time: 1700000000, timeNano: '1700000000123456789' };
    expect(formatEvent(e)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.123456789(Z|[+-]\d\d:\d\d) container start abc \(image=busybox, name=cli-x\)$/);
  });
});

describe('fixes found against berthd', () => {
  it('applies a field chained after a parenthesised pipeline, as Go templates do', async () => {
    const { Template } = await import('./template.js');
    const ctx = { NetworkSettings: { Networks: { 'cli-net': { IPAddress: '10.1.2.3' } } } };
    expect(new Template('{{(index .NetworkSettings.Networks "cli-net").IPAddress}}').execute(ctx)).toBe('10.1.2.3');
    // With a space the field is a separate operand (an argument), which Go refuses too.
    expect(() => new Template('{{(index .NetworkSettings.Networks "cli-net") .IPAddress}}').execute(ctx)).toThrow();
  });

  it('sorts volume and network names in natural order, as docker lists them', async () => {
    const { naturalCompare } = await import('./output.js');
    expect(['61eb', '6d1d', 'a10', 'a9', 'a09', 'b', 'A'].sort(naturalCompare)).toEqual(['6d1d', '61eb', 'A', 'a9', 'a09', 'a10', 'b']);
  });

  it('converts --since/--until on the client as docker does', async () => {
    const { apiTimestamp } = await import('./units.js');
    const now = Date.UTC(2026, 0, 2, 3, 4, 5, 600);
    expect(apiTimestamp('10m', now)).toBe(String(Math.floor(now / 1000) - 600));
    expect(apiTimestamp('1h30m', now)).toBe(String(Math.floor(now / 1000) - 5400));
    expect(apiTimestamp('1767225600', now)).toBe('1767225600');
    expect(apiTimestamp('2026-01-01T00:00:00Z', now)).toBe('1767225600.000000000');
    expect(apiTimestamp('2026-01-01T00:00:00.5Z', now)).toBe('1767225600.500000000');
    expect(() => apiTimestamp('yesterday', now)).toThrow(/"yesterday"/);
  });

  it('keeps an event timeNano exact (past 2^53) and prints it as the daemon sent it', async () => {
    const { JsonStreamParser } = await import('../client/jsonstream.js');
    const { eventContext } = await import('../commands/system.js');
    const { goJson } = await import('./template.js');
    const [e] = new JsonStreamParser<any>(['timeNano']).push('{"status":"die","id":"x","Type":"container","Action":"die","Actor":{"ID":"x","Attributes":{"name":"n","exitCode":"0"}},"scope":"local","time":1795499049,"timeNano":1795499049741405952}\n');
    expect(formatEvent(e)).toMatch(/^2026-11-2\dT\d\d:\d\d:09\.741405952/);
    const json = goJson(eventContext(e));
    expect(json).toContain('"Attributes":{"exitCode":"0","name":"n"}');
    expect(json).toContain('"timeNano":"1795499049741405952"');
  });
});
