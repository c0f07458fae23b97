// The daemon reports pull, push, load, import and events as a stream of JSON objects,
// one after another (dockerd separates them with \r\n). This splits any chunking back
// into whole objects, tolerating objects that are not newline-separated.

export class JsonStreamParser<T = unknown> {
  private buf = '';
  private readonly exact?: RegExp;

  /**
   * `exactIntegers` names keys whose integer values are kept as decimal strings:
   * an event's timeNano (~1.8e18) is past what a JS number holds exactly.
   */
  constructor(exactIntegers: string[] = []) {
    if (exactIntegers.length) this.exact = new RegExp(`"(${exactIntegers.join('|')})":(-?\\d+)`, 'g');
  }

  push(chunk: Buffer | string): T[] {
    this.buf += chunk.toString();
    const out: T[] = [];
    let start = 0;
    let depth = 0;
    let inString = false;
    let escaped = false;
    let objStart = -1;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') {
        if (depth === 0) objStart = i;
        depth++;
      } else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0 && objStart >= 0) {
          const text = this.buf.slice(objStart, i + 1);
          out.push(JSON.parse(this.exact ? text.replace(this.exact, '"$1":"$2"') : text) as T);
          start = i + 1;
          objStart = -1;
        }
      }
    }
    this.buf = depth === 0 ? this.buf.slice(start).trimStart() : this.buf.slice(objStart >= 0 ? objStart : start);
    return out;
  }

  /** Text that did not form an object by the end of the stream. */
  get rest(): string {
    return this.buf.trim();
  }
}

/** Reads a whole JSON message stream, calling `onMessage` for each object. */
export function readJsonStream<T>(source: NodeJS.ReadableStream, onMessage: (m: T) => void, exactIntegers: string[] = []): Promise<void> {
  const parser = new JsonStreamParser<T>(exactIntegers);
  return new Promise((resolve, reject) => {
    source.on('data', (chunk: Buffer) => {
      try {
        for (const m of parser.push(chunk)) onMessage(m);
      } catch (e) {
        reject(e);
      }
    });
    source.on('end', () => resolve());
    source.on('error', reject);
  });
}
