import { configDefaults, defineConfig } from 'vitest/config';

// The suite in layers (docs/development.md): `npm test` runs them all, `npx vitest run --project unit` the fast one.
// A test file's suffix says which layer it is in, wherever it lives in test/:
//   *.e2e.test.ts      needs the Docker engine (real containers, images built locally)
//   *.process.test.ts  runs another program (the formatter, shells, openssl, systemd and Compose checks, the CLI as a
//                      process)
//   *.deep.test.ts     neither, but slow (GitHub's whole OpenAPI description) or leaving process-wide state behind
//                      (the client's rate-limit tests fill Octokit's throttling queues, shared by every client in a
//                      process): each file in a fresh worker; the deep project also runs every *.property.test.ts
//                      at full depth
//   *.test.ts          none of these: the unit layer
// test/actions/ and test/workflows/ are layers of their own by folder (the real agent CLIs; the workflow linters).
const E2E = 'test/**/*.e2e.test.ts';
const PROCESS = 'test/**/*.process.test.ts';
const DEEP = 'test/**/*.deep.test.ts';
const PROPERTY = 'test/**/*.property.test.ts';
const ACTIONS = 'test/actions/**/*.test.ts';
const WORKFLOWS = 'test/workflows/**/*.test.ts';

export default defineConfig({
  test: {
    // Integration tests share one Docker engine on a 2-core machine: keep files from starving each other.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, E2E, PROCESS, DEEP, ACTIONS, WORKFLOWS],
          // Unit files restore what they change (the environment, timers, nock's net connect), so a worker keeps its
          // modules from one file to the next: importing the controller once per worker instead of once per file is
          // most of the layer's time.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'process',
          include: [PROCESS],
          exclude: [...configDefaults.exclude, E2E, ACTIONS, WORKFLOWS],
          // Each file drives programs that take both cores themselves (tsc, prettier, shells): one file at a time.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'deep',
          // The property files again, at the depth written in them (the unit layer draws a quarter of the cases).
          include: [DEEP, PROPERTY],
          exclude: [...configDefaults.exclude, ACTIONS, WORKFLOWS],
          env: { PROPERTY_RUNS: 'full' },
        },
      },
      { extends: true, test: { name: 'e2e', include: [E2E], globalSetup: ['test/support/e2e-setup.ts'] } },
      { extends: true, test: { name: 'actions', include: [ACTIONS], exclude: [...configDefaults.exclude, E2E] } },
      { extends: true, test: { name: 'workflows', include: [WORKFLOWS], exclude: [...configDefaults.exclude, E2E] } },
    ],
  },
});
