// The real CgroupFs: plain synchronous file operations. Writes open the file
// without O_CREAT or O_TRUNC (cgroupfs has no use for either, and a missing control
// file must fail with ENOENT rather than be created on a tmpfs) and write once.
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeSync } from 'node:fs';
import type { CgroupFs } from './types.js';

export const realCgroupFs: CgroupFs = {
  mkdir(path) {
    mkdirSync(path, { recursive: true });
  },
  write(path, data) {
    const fd = openSync(path, constants.O_WRONLY);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
  },
  read(path) {
    return readFileSync(path, 'utf8');
  },
  rmdir(path) {
    rmdirSync(path);
  },
  readdir(path) {
    return readdirSync(path, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  },
  exists(path) {
    return existsSync(path);
  },
};
