import { configDefaults, defineConfig } from 'vitest/config';

// The suite in layers (docs/development.md): `npm test` runs all four, `npx vitest run --project unit` the fast one.
// A test that needs the Docker engine is named *.e2e.test.ts wherever it lives; that name alone puts it in `e2e`.
const E2E = 'test/**/*.e2e.test.ts';
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
          exclude: [...configDefaults.exclude, E2E, ACTIONS, WORKFLOWS],
        },
      },
      { extends: true, test: { name: 'e2e', include: [E2E], globalSetup: ['test/support/e2e-setup.ts'] } },
      { extends: true, test: { name: 'actions', include: [ACTIONS], exclude: [...configDefaults.exclude, E2E] } },
      { extends: true, test: { name: 'workflows', include: [WORKFLOWS], exclude: [...configDefaults.exclude, E2E] } },
    ],
  },
});
