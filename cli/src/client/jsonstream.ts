// The daemon reports pull, push, load, import and events as a stream of JSON objects,
// one after another (dockerd separates them with \r\n). This splits any chunking back
// into whole objects, tolerating objects that are not newline-separated.

export class JsonStreamParser<T = unknown> {
  private buf = '';

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
          out.push(JSON.parse(this.buf.slice(objStart, i + 1)) as T);
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
export function readJsonStream<T>(source: NodeJS.ReadableStream, onMessage: (m: T) => void): Promise<void> {
  const parser = new JsonStreamParser<T>();
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
