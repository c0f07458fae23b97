// A subset of Go's text/template, enough for the docker CLI's --format strings:
// {{.Field.Sub}}, {{json .}}, pipelines (a | b), if/else/range/with/end, trim
// markers ({{- -}}), string and number literals, and the functions docker adds
// (json, join, lower, upper, title, split, truncate, pad, println) plus Go's
// builtins that format strings use (index, len, printf, eq, ne, not, and, or).

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe }
  | { kind: 'if' | 'with'; pipe: Pipe; body: Node[]; else: Node[] }
  | { kind: 'range'; pipe: Pipe; body: Node[]; else: Node[] };

type Operand =
  | { kind: 'field'; path: string[]; base?: Operand }
  | { kind: 'dot' }
  | { kind: 'var' }
  | { kind: 'literal'; value: unknown }
  | { kind: 'ident'; name: string }
  | { kind: 'sub'; pipe: Pipe };

type Command = Operand[];
type Pipe = Command[];

export class TemplateError extends Error {}

// --- lexing the inside of an action -------------------------------------------------

/** Marks a field token that follows `)` directly. */
const CHAINED = '\u0000';

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new TemplateError('unterminated quoted string');
      tokens.push(src.slice(i, j + 1));
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new TemplateError('unterminated raw quoted string');
      tokens.push(src.slice(i, j + 1));
      i = j + 1;
    } else if (c === '|' || c === '(' || c === ')') {
      tokens.push(c);
      i++;
      // `(pipeline).Field`: a field chained right after the paren (no space) applies to it.
      if (c === ')' && src[i] === '.') {
        let j = i;
        while (j < src.length && !/[\s|()]/.test(src[j])) j++;
        tokens.push(`${CHAINED}${src.slice(i, j)}`);
        i = j;
      }
    } else {
      let j = i;
      while (j < src.length && !/[\s|()]/.test(src[j])) j++;
      tokens.push(src.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

function parseOperand(tok: string, tokens: string[], pos: { i: number }): Operand {
  if (tok === '(') {
    const depthStart = pos.i;
    let depth = 1;
    let j = pos.i;
    while (j < tokens.length && depth > 0) {
      if (tokens[j] === '(') depth++;
      if (tokens[j] === ')') depth--;
      j++;
    }
    if (depth !== 0) throw new TemplateError('unclosed left paren');
    const inner = tokens.slice(depthStart, j - 1);
    pos.i = j;
    const sub: Operand = { kind: 'sub', pipe: parsePipeTokens(inner) };
    const next = tokens[pos.i];
    if (next?.startsWith(`${CHAINED}.`)) {
      pos.i++;
      return { kind: 'field', path: next.slice(2).split('.'), base: sub };
    }
    return sub;
  }
  if (tok === '.') return { kind: 'dot' };
  if (tok.startsWith('.')) return { kind: 'field', path: tok.slice(1).split('.') };
  if (tok === '$') return { kind: 'var' };
  if (tok.startsWith('$.')) return { kind: 'field', path: tok.slice(2).split('.'), base: { kind: 'var' } };
  if (tok.startsWith('"')) return { kind: 'literal', value: JSON.parse(tok) };
  if (tok.startsWith('`')) return { kind: 'literal', value: tok.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(tok)) return { kind: 'literal', value: Number(tok) };
  if (tok === 'true' || tok === 'false') return { kind: 'literal', value: tok === 'true' };
  if (tok === 'nil') return { kind: 'literal', value: null };
  if (/^[A-Za-z_]\w*$/.test(tok)) return { kind: 'ident', name: tok };
  throw new TemplateError(`unexpected "${tok}" in operand`);
}

function parsePipeTokens(tokens: string[]): Pipe {
  const pipe: Pipe = [];
  let cmd: Command = [];
  const pos = { i: 0 };
  while (pos.i < tokens.length) {
    const tok = tokens[pos.i++];
    if (tok === '|') {
      if (cmd.length === 0) throw new TemplateError('missing command before |');
      pipe.push(cmd);
      cmd = [];
      continue;
    }
    if (tok === ')') throw new TemplateError('unexpected right paren');
    cmd.push(parseOperand(tok, tokens, pos));
  }
  if (cmd.length === 0) throw new TemplateError('missing value for command');
  pipe.push(cmd);
  return pipe;
}

// --- parsing the template into a tree -----------------------------------------------

interface Frame {
  node: Node | null;
  body: Node[];
  inElse: boolean;
}

export function parseTemplate(src: string): Node[] {
  const root: Node[] = [];
  const stack: Frame[] = [{ node: null, body: root, inElse: false }];
  const cur = () => stack[stack.length - 1];
  const push = (n: Node) => {
    const f = cur();
    if (f.node && f.inElse && f.node.kind !== 'text' && f.node.kind !== 'action') f.node.else.push(n);
    else f.body.push(n);
  };
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) push({ kind: 'text', text });
      break;
    }
    const close = src.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError('unclosed action');
    let inner = src.slice(open + 2, close);
    if (inner.startsWith('- ') || inner === '-') {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    if (inner.endsWith(' -')) {
      trimNext = true;
      inner = inner.slice(0, -1);
    }
    if (text) push({ kind: 'text', text });
    i = close + 2;
    inner = inner.trim();
    if (inner.startsWith('/*')) continue;
    const tokens = tokenize(inner);
    const head = tokens[0];
    if (head === 'if' || head === 'with' || head === 'range') {
      const node = { kind: head, pipe: parsePipeTokens(tokens.slice(1)), body: [], else: [] } as Node;
      push(node);
      stack.push({ node, body: (node as { body: Node[] }).body, inElse: false });
    } else if (head === 'else') {
      const f = cur();
      if (!f.node) throw new TemplateError('unexpected {{else}}');
      f.inElse = true;
      if (tokens[1] === 'if') {
        // {{else if x}} is an if nested in the else branch that shares the {{end}}.
        const node = { kind: 'if', pipe: parsePipeTokens(tokens.slice(2)), body: [], else: [] } as Node;
        push(node);
        stack.push({ node, body: (node as { body: Node[] }).body, inElse: false });
        (stack[stack.length - 1] as Frame & { chained?: boolean }).chained = true;
      }
    } else if (head === 'end') {
      if (stack.length === 1) throw new TemplateError('unexpected {{end}}');
      while ((stack.pop() as Frame & { chained?: boolean }).chained) {}
    } else {
      push({ kind: 'action', pipe: parsePipeTokens(tokens) });
    }
  }
  if (stack.length !== 1) throw new TemplateError('unexpected EOF');
  return root;
}

// --- evaluation ---------------------------------------------------------------------

/** Go's JSON encoder escapes <, > and & for HTML safety; docker's output shows it. */
export function goJson(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v);
  return s.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** How Go's fmt %v prints a value. */
export function goPrint(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(goPrint).join(' ')}]`;
  if (typeof v === 'object') {
    if (typeof (v as { toString?: unknown }).toString === 'function' && (v as object).toString !== Object.prototype.toString) {
      return String(v);
    }
    const keys = Object.keys(v as object).sort();
    return `map[${keys.map((k) => `${k}:${goPrint((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function titleCase(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase());
}

function sprintf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(/%([-+ 0#]*\d*(?:\.\d+)?)([vsdqfxt%])/g, (_m, flags: string, verb: string) => {
    if (verb === '%') return '%';
    const a = args[i++];
    let s: string;
    switch (verb) {
      case 'q':
        s = JSON.stringify(String(a));
        break;
      case 'd':
        s = String(Math.trunc(Number(a)));
        break;
      case 'f': {
        const p = /\.(\d+)/.exec(flags);
        s = Number(a).toFixed(p ? Number(p[1]) : 6);
        break;
      }
      case 'x':
        s = typeof a === 'number' ? a.toString(16) : Buffer.from(String(a)).toString('hex');
        break;
      default:
        s = goPrint(a);
    }
    const w = /^(-?)0?(\d+)/.exec(flags.replace(/\..*/, ''));
    if (w && Number(w[2]) > s.length) s = w[1] ? s.padEnd(Number(w[2])) : s.padStart(Number(w[2]));
    return s;
  });
}

const FUNCS: Record<string, (...args: any[]) => unknown> = {
  json: (v: unknown) => goJson(v),
  join: (list: unknown[], sep: string) => (list ?? []).map(goPrint).join(sep),
  lower: (s: unknown) => goPrint(s).toLowerCase(),
  upper: (s: unknown) => goPrint(s).toUpperCase(),
  title: (s: unknown) => titleCase(goPrint(s)),
  split: (s: unknown, sep: string) => goPrint(s).split(sep),
  truncate: (s: unknown, n: number) => [...goPrint(s)].slice(0, n).join(''),
  pad: (s: unknown, before: number, after: number) => ' '.repeat(before) + goPrint(s) + ' '.repeat(after),
  println: (...a: unknown[]) => `${a.map(goPrint).join(' ')}\n`,
  print: (...a: unknown[]) => a.map(goPrint).join(''),
  printf: (f: string, ...a: unknown[]) => sprintf(f, a),
  len: (v: unknown) => (Array.isArray(v) || typeof v === 'string' ? v.length : Object.keys(v ?? {}).length),
  index: (v: any, ...keys: unknown[]) => keys.reduce((acc: any, k) => (acc == null ? undefined : acc[k as string]), v),
  eq: (a: unknown, ...b: unknown[]) => b.some((x) => x === a),
  ne: (a: unknown, b: unknown) => a !== b,
  lt: (a: any, b: any) => a < b,
  le: (a: any, b: any) => a <= b,
  gt: (a: any, b: any) => a > b,
  ge: (a: any, b: any) => a >= b,
  not: (a: unknown) => !truthy(a),
  and: (...a: unknown[]) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a: unknown[]) => a.find((x) => truthy(x)) ?? a[a.length - 1],
};

function field(base: unknown, path: string[], whole: string): unknown {
  let v: any = base;
  for (const name of path) {
    if (v === undefined || v === null) {
      if (v === null) return undefined;
      throw new TemplateError(`can't evaluate field ${name} in type ${whole}`);
    }
    if (typeof v !== 'object') throw new TemplateError(`can't evaluate field ${name} in type ${typeof v}`);
    v = v[name];
    if (typeof v === 'function') v = v.call(base);
  }
  return v;
}

function evalOperand(op: Operand, dot: unknown, root: unknown): unknown {
  switch (op.kind) {
    case 'dot':
      return dot;
    case 'var':
      return root;
    case 'literal':
      return op.value;
    case 'field':
      return field(op.base ? evalOperand(op.base, dot, root) : dot, op.path, `.${op.path.join('.')}`);
    case 'sub':
      return evalPipe(op.pipe, dot, root);
    case 'ident': {
      const fn = FUNCS[op.name];
      if (!fn) throw new TemplateError(`function "${op.name}" not defined`);
      return fn();
    }
  }
}

function evalPipe(pipe: Pipe, dot: unknown, root: unknown): unknown {
  let value: unknown;
  let first = true;
  for (const cmd of pipe) {
    const [head, ...rest] = cmd;
    if (head.kind === 'ident') {
      const fn = FUNCS[head.name];
      if (!fn) throw new TemplateError(`function "${head.name}" not defined`);
      const args = rest.map((o) => evalOperand(o, dot, root));
      if (!first) args.push(value);
      value = fn(...args);
    } else if (head.kind === 'field' && rest.length > 0) {
      // A method with arguments, such as ps's {{.Label "owner"}}.
      const base = head.base ? evalOperand(head.base, dot, root) : dot;
      const owner = field(base, head.path.slice(0, -1), `.${head.path.join('.')}`) as Record<string, unknown>;
      const method = owner?.[head.path[head.path.length - 1]];
      if (typeof method !== 'function') throw new TemplateError(`${head.path.join('.')} is not a method but has arguments`);
      const args = rest.map((o) => evalOperand(o, dot, root));
      if (!first) args.push(value);
      value = method.apply(owner, args);
    } else {
      if (rest.length > 0) throw new TemplateError(`can't give argument to non-function ${JSON.stringify(head)}`);
      value = evalOperand(head, dot, root);
    }
    first = false;
  }
  return value;
}

function run(nodes: Node[], dot: unknown, root: unknown, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out.push(n.text);
        break;
      case 'action':
        out.push(goPrint(evalPipe(n.pipe, dot, root)));
        break;
      case 'if': {
        const v = evalPipe(n.pipe, dot, root);
        run(truthy(v) ? n.body : n.else, dot, root, out);
        break;
      }
      case 'with': {
        const v = evalPipe(n.pipe, dot, root);
        if (truthy(v)) run(n.body, v, root, out);
        else run(n.else, dot, root, out);
        break;
      }
      case 'range': {
        const v = evalPipe(n.pipe, dot, root);
        const items = Array.isArray(v)
          ? v
          : v && typeof v === 'object'
            ? Object.keys(v)
                .sort()
                .map((k) => (v as Record<string, unknown>)[k])
            : [];
        if (items.length === 0) run(n.else, dot, root, out);
        for (const item of items) run(n.body, item, root, out);
        break;
      }
    }
  }
}

export class Template {
  private readonly nodes: Node[];
  constructor(readonly source: string) {
    this.nodes = parseTemplate(source);
  }
  execute(data: unknown): string {
    const out: string[] = [];
    run(this.nodes, data, data, out);
    return out.join('');
  }
}
