// Column alignment as Go's text/tabwriter with the docker CLI's settings (minimum
// width 10, padding 3, spaces): each tab-terminated cell is padded to its column's
// widest cell plus 3, never narrower than 10; the text after the last tab is left
// as it is.

export interface TabOptions {
  minWidth: number;
  padding: number;
}

const DOCKER: TabOptions = { minWidth: 10, padding: 3 };

function width(s: string): number {
  return [...s].length;
}

export function alignTabs(text: string, opts: TabOptions = DOCKER): string {
  const MIN_WIDTH = opts.minWidth;
  const PADDING = opts.padding;
  const lines = text.split('\n');
  const cells = lines.map((l) => l.split('\t'));
  const out: string[][] = cells.map(() => []);
  // Go's tabwriter aligns a column over each run of consecutive lines that have it.
  const maxCols = Math.max(0, ...cells.map((c) => c.length - 1));
  const widths: number[][] = cells.map(() => []);
  for (let col = 0; col < maxCols; col++) {
    let i = 0;
    while (i < cells.length) {
      if (cells[i].length - 1 <= col) {
        i++;
        continue;
      }
      let j = i;
      let w = MIN_WIDTH;
      while (j < cells.length && cells[j].length - 1 > col) {
        w = Math.max(w, width(cells[j][col]) + PADDING);
        j++;
      }
      for (let k = i; k < j; k++) widths[k][col] = w;
      i = j;
    }
  }
  for (let i = 0; i < cells.length; i++) {
    const row = cells[i];
    for (let col = 0; col < row.length; col++) {
      const cell = row[col];
      out[i].push(col < row.length - 1 ? cell + ' '.repeat(widths[i][col] - width(cell)) : cell);
    }
  }
  return out.map((r) => r.join('')).join('\n');
}
