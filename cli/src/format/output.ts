// Renders a list of rows the way the docker CLI does for ps, images, volume ls,
// network ls...: a default table, `table ...` templates with headers, `json`, any
// other Go template one line per row, and -q.
import { alignTabs } from './table.js';
import { Template, goJson } from './template.js';

export type Row = Record<string, unknown>;

export interface ListFormat {
  /** The command's default `table {{.A}}\t{{.B}}` template. */
  defaultTable: string;
  /** Column titles by field name (ID → "CONTAINER ID"). */
  headers: Record<string, string>;
}

/** Expands the \t and \n escapes docker accepts in a --format value. */
export function unescapeFormat(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

/** A row's fields without its methods, for {{json .}}; keys sorted as Go's encoder sorts map keys. */
export function rowJson(row: Row): string {
  const plain: Record<string, unknown> = {};
  for (const k of Object.keys(row).sort()) if (typeof row[k] !== 'function') plain[k] = row[k];
  return goJson(plain);
}

export function renderList(rows: Row[], format: string | undefined, spec: ListFormat, quiet = false): string {
  let f = format ?? '';
  if (quiet && !f) f = '{{.ID}}';
  if (!f || f === 'table') f = spec.defaultTable;
  if (f === 'json') return rows.map((r) => `${rowJson(r)}\n`).join('');
  f = unescapeFormat(f);
  const isTable = f.startsWith('table');
  if (isTable) f = f.slice('table'.length).replace(/^\s/, '');
  const tpl = new Template(f);
  const render = (r: Row) => {
    // {{json .}} on a row shows its fields only.
    const ctx = Object.create(r) as Row;
    Object.defineProperty(ctx, 'toJSON', { value: () => JSON.parse(rowJson(r)), enumerable: false });
    return tpl.execute(ctx);
  };
  const lines = rows.map(render);
  if (!isTable) return lines.map((l) => `${l}\n`).join('');
  const header: Row = { ...spec.headers };
  header.Label = (name: string) => name;
  let headerLine = '';
  try {
    headerLine = tpl.execute(header);
  } catch {
    headerLine = '';
  }
  return `${alignTabs([headerLine, ...lines].join('\n'))}\n`;
}

/** Shortens to `n` characters with an ellipsis, as docker's Ellipsis. */
export function ellipsis(s: string, n: number): string {
  const chars = [...s];
  if (chars.length <= n) return s;
  return `${chars.slice(0, n - 1).join('')}…`;
}

/** A short ID: the first 12 hex digits, without a sha256: prefix. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** key=value pairs joined with commas, sorted, as docker's Labels column. */
export function joinLabels(labels: Record<string, string> | null | undefined): string {
  if (!labels) return '';
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** Prints one object per value for `inspect`: JSON array by default, else the template per item. */
export function renderInspect(items: unknown[], format: string | undefined): string {
  if (!format || format === 'json') {
    if (format === 'json') return items.map((i) => `${goJson(i)}\n`).join('');
    return `${indentJson(items)}\n`;
  }
  const tpl = new Template(unescapeFormat(format));
  return items.map((i) => `${tpl.execute(i)}\n`).join('');
}

/** JSON indented like docker inspect (4 spaces, HTML characters escaped). */
export function indentJson(v: unknown): string {
  return JSON.stringify(v, null, 4).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Natural order, as docker's volume and network lists sort names (sortorder.NaturalLess):
 * runs of digits compare as numbers ("6d" before "61e"), everything else byte by byte.
 */
export function naturalCompare(a: string, b: string): number {
  const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === q) continue;
    const pd = /^\d/.test(p);
    const qd = /^\d/.test(q);
    if (pd && qd) {
      const pn = p.replace(/^0+/, '');
      const qn = q.replace(/^0+/, '');
      if (pn.length !== qn.length) return pn.length - qn.length;
      if (pn !== qn) return pn < qn ? -1 : 1;
      return p.length - q.length;
    }
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}
