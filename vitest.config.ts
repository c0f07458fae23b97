import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs anywhere without root; `e2e` drives the built binaries
// as root against the real kernel, one file at a time (containers, mounts and
// cgroups are machine-wide).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{oci-spec-types,runtime,shimd,daemon,cli}/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ['e2e/global-setup.ts'],
        },
      },
    ],
  },
});
