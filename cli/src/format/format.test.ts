import { describe, expect, it } from 'vitest';
import { displayPorts, imageRows } from './contexts.js';
import { renderList } from './output.js';
import { familiarString, parseReference } from './reference.js';
import { alignTabs } from './table.js';
import { Template, TemplateError } from './template.js';
import { ago, bytesSize, goTime, humanDuration, humanSize, parseBytes, parseDuration } from './units.js';

describe('units', () => {
  it('prints times as Go prints time.Time, fractional seconds trimmed', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      expect(goTime('2026-11-24T04:37:41.028000000Z')).toBe('2026-11-24 04:37:41.028 +0000 UTC');
      expect(goTime('2026-11-24T04:37:41.000Z')).toBe('2026-11-24 04:37:41 +0000 UTC');
      expect(goTime(1_790_000_000)).toBe('2026-09-21 14:13:20 +0000 UTC');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('prints decimal sizes with the precision docker uses', () => {
    expect(humanSize(0, 3)).toBe('0B');
    expect(humanSize(999, 3)).toBe('999B');
    expect(humanSize(4261550, 3)).toBe('4.26MB');
    expect(humanSize(4261550)).toBe('4.262MB');
    expect(humanSize(128000, 3)).toBe('128kB');
    expect(humanSize(1_500_000_000, 3)).toBe('1.5GB');
    expect(bytesSize(1024 * 1024 * 3.5)).toBe('3.5MiB');
  });

  it('describes durations in docker words', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(45_000)).toBe('45 seconds');
    expect(humanDuration(61_000)).toBe('About a minute');
    expect(humanDuration(150_000)).toBe('2 minutes');
    expect(humanDuration(3_600_000)).toBe('About an hour');
    expect(humanDuration(5 * 3_600_000)).toBe('5 hours');
    expect(humanDuration(3 * 86_400_000)).toBe('3 days');
    expect(humanDuration(40 * 86_400_000)).toBe('5 weeks');
    expect(humanDuration(100 * 86_400_000)).toBe('3 months');
    expect(humanDuration(800 * 86_400_000)).toBe('2 years');
    expect(ago(1000, 1000 * 1000 + 120_000)).toBe('2 minutes ago');
  });

  it('parses sizes and durations from flags, naming what is wrong', () => {
    expect(parseBytes('512m')).toBe(512 * 1024 * 1024);
    expect(parseBytes('1g')).toBe(1024 ** 3);
    expect(parseBytes('100')).toBe(100);
    expect(() => parseBytes('lots')).toThrow(/invalid size: 'lots'/);
    expect(parseBytes('5 MiB')).toBe(5 * 1024 ** 2);
    expect(parseBytes('5B')).toBe(5);
    // docker 28's messages for the same inputs (go-units).
    expect(() => parseBytes('1x')).toThrow("invalid suffix: 'x'");
    expect(() => parseBytes('10KBX')).toThrow("invalid suffix: 'kbx'");
    expect(() => parseBytes('5BB')).toThrow("invalid suffix: 'bb'");
    expect(() => parseBytes('1.5.5m')).toThrow('strconv.ParseFloat: parsing "1.5.5": invalid syntax');
    expect(() => parseBytes('-5m')).toThrow("invalid size: '-5m'");
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('10')).toBe(10_000);
    expect(() => parseDuration('5 parsecs')).toThrow(/invalid duration/);
  });
});

describe('alignTabs', () => {
  it('pads cells like Go tabwriter(minwidth 10, padding 3) and leaves the last cell', () => {
    expect(alignTabs('A\tBB\tC\nlonger-cell-here\tx\tlast')).toBe(
      `A${' '.repeat(18)}BB        C\nlonger-cell-here   x         last`,
    );
  });
});

describe('template', () => {
  const data = {
    Name: 'web',
    State: { Running: true, Pid: 42 },
    Labels: { b: '2', a: '1' },
    Args: ['-f', 'x'],
    Nets: { bridge: { IP: '172.17.0.2' }, alt: { IP: '10.0.0.2' } },
    Nothing: null,
  };
  const run = (t: string) => new Template(t).execute(data);

  it('evaluates fields, nested fields and missing keys as Go does', () => {
    expect(run('{{.Name}} {{.State.Pid}}')).toBe('web 42');
    expect(run('{{.Missing}}')).toBe('<no value>');
    expect(run('{{.Args}}')).toBe('[-f x]');
    expect(run('{{.Labels}}')).toBe('map[a:1 b:2]');
  });

  it('supports json, pipelines and docker functions', () => {
    expect(run('{{json .State}}')).toBe('{"Running":true,"Pid":42}');
    expect(run('{{.Name | upper}}')).toBe('WEB');
    expect(run('{{join .Args ","}}')).toBe('-f,x');
    expect(run('{{index .Labels "b"}}')).toBe('2');
    expect(run('{{printf "%s=%d" .Name .State.Pid}}')).toBe('web=42');
    expect(run('{{truncate .Name 2}}')).toBe('we');
    expect(run('{{json "<&>"}}')).toBe('"\\u003c\\u0026\\u003e"');
    expect(run('{{len .Args}}')).toBe('2');
  });

  it('supports if/else/range/with and trim markers', () => {
    expect(run('{{if .State.Running}}up{{else}}down{{end}}')).toBe('up');
    expect(run('{{if .Nothing}}x{{else if .Name}}named{{else}}y{{end}}')).toBe('named');
    expect(run('{{range .Nets}}{{.IP}} {{end}}')).toBe('10.0.0.2 172.17.0.2 ');
    expect(run('{{range .Args}}[{{.}}]{{end}}')).toBe('[-f][x]');
    expect(run('{{with .State}}{{.Pid}}{{end}}')).toBe('42');
    expect(run('a  {{- .Name -}}  b')).toBe('awebb');
    expect(run('{{range .Missing}}x{{else}}empty{{end}}')).toBe('empty');
  });

  it('rejects malformed templates with a reason', () => {
    expect(() => new Template('{{.Name')).toThrow(TemplateError);
    expect(() => new Template('{{if .A}}x')).toThrow(/unexpected EOF/);
    expect(() => run('{{nosuch .Name}}')).toThrow(/function "nosuch" not defined/);
  });
});

describe('renderList', () => {
  const spec = { defaultTable: 'table {{.ID}}\t{{.Name}}', headers: { ID: 'ID', Name: 'NAME' } };
  const rows = [
    { ID: 'a1', Name: 'one' },
    { ID: 'b2', Name: 'two' },
  ];
  it('renders the default table, custom tables, json and plain templates', () => {
    expect(renderList(rows, undefined, spec)).toBe('ID        NAME\na1        one\nb2        two\n');
    expect(renderList(rows, 'table {{.Name}}', spec)).toBe('NAME\none\ntwo\n');
    expect(renderList(rows, 'json', spec)).toBe('{"ID":"a1","Name":"one"}\n{"ID":"b2","Name":"two"}\n');
    expect(renderList(rows, '{{.ID}}:{{.Name}}', spec)).toBe('a1:one\nb2:two\n');
    expect(renderList(rows, '{{json .}}', spec)).toBe('{"ID":"a1","Name":"one"}\n{"ID":"b2","Name":"two"}\n');
    expect(renderList(rows, undefined, spec, true)).toBe('a1\nb2\n');
  });
});

describe('contexts', () => {
  it('groups port ranges and orders mappings like docker', () => {
    expect(
      displayPorts([
        { PrivatePort: 81, Type: 'tcp' },
        { PrivatePort: 80, Type: 'tcp' },
        { IP: '::', PrivatePort: 443, PublicPort: 8443, Type: 'tcp' },
        { IP: '0.0.0.0', PrivatePort: 443, PublicPort: 8443, Type: 'tcp' },
        { IP: '0.0.0.0', PrivatePort: 53, PublicPort: 53, Type: 'udp' },
      ]),
    ).toBe('0.0.0.0:53->53/udp, 80-81/tcp, 0.0.0.0:8443->443/tcp, [::]:8443->443/tcp');
    expect(displayPorts([])).toBe('');
  });

  it('makes one image row per repository tag, <none> for dangling images', () => {
    const img = { Id: 'sha256:' + 'ab'.repeat(32), RepoTags: ['docker.io/library/busybox:1', 'localhost:5000/x:y'], RepoDigests: [], Created: 0, Size: 1000 };
    const rows = imageRows(img);
    expect(rows.map((r) => `${r.Repository}:${r.Tag}`)).toEqual(['busybox:1', 'localhost:5000/x:y']);
    expect(rows[0].ID).toBe('abababababab');
    expect(imageRows({ ...img, RepoTags: [] })[0]).toMatchObject({ Repository: '<none>', Tag: '<none>' });
  });

  it('normalises references as docker does', () => {
    expect(parseReference('busybox')).toEqual({ name: 'docker.io/library/busybox', tag: undefined, digest: undefined });
    expect(parseReference('localhost:5000/a/b:v1').name).toBe('localhost:5000/a/b');
    expect(familiarString('docker.io/library/busybox:latest')).toBe('busybox:latest');
    expect(() => parseReference('BusyBox')).toThrow(/must be lowercase/);
  });
});
