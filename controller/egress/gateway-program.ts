// The gateway's program as files for its container: the modules of controller/gateway/ as this controller runs them (compiled
// JavaScript from build/, or the TypeScript sources transpiled when the controller itself runs from them, as the tests
// do), with a package.json that makes them ES modules. Copied per job, so a gateway runs the policy code of the
// controller that started it, and no image has to be rebuilt when it changes.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'gateway');

let cached: Promise<Map<string, string>> | undefined;

async function programFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>([['package.json', '{ "type": "module" }\n']]);
  const names = (await readdir(SOURCE)).filter((n) => /\.(js|ts)$/.test(n) && !n.endsWith('.d.ts'));
  for (const name of names) {
    const text = await readFile(join(SOURCE, name), 'utf8');
    if (name.endsWith('.js')) files.set(name, text);
    else {
      // Only when running from sources: typescript is then installed (a development dependency).
      const ts = (await import('typescript')).default;
      const out = ts.transpileModule(text, {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      });
      files.set(name.replace(/\.ts$/, '.js'), out.outputText);
    }
  }
  return files;
}

/** Writes the program into `dir` (made if missing), readable by the gateway's user. */
export async function writeGatewayProgram(dir: string): Promise<void> {
  cached ??= programFiles();
  const files = await cached;
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [name, text] of files) await writeFile(join(dir, name), text, { mode: 0o644 });
}
