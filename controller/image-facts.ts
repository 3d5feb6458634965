// Reads what an image exposes to anyone who can pull it: config, history and every layer's files (`docker save`).
import type Docker from 'dockerode';
import { extract, type Extract } from 'tar-stream';
import { shouldRead, type ImageFacts } from './image-audit.js';

type LayerFile = { blob: string; path: string; text: string };

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

type Piped = { pipe(destination: Extract): unknown; resume(): unknown };

/** Files worth reading in one layer tarball; an entry that is not a tarball (an OCI config blob) yields none. */
async function filesOfLayer(blob: string, layer: Piped): Promise<LayerFile[]> {
  const files: LayerFile[] = [];
  const inner = extract();
  layer.pipe(inner);
  try {
    for await (const file of inner) {
      const path = file.header.name.replace(/^\.?\//, '');
      if (file.header.type === 'file' && !path.split('/').at(-1)!.startsWith('.wh.') && shouldRead(path, file.header.size ?? 0)) {
        const content = await readAll(file);
        // Binaries (the runner's assemblies, for one) keep their path, which can still be a finding, but not their bytes.
        files.push({ blob, path, text: content.subarray(0, 8192).includes(0) ? '' : content.toString('utf8') });
      } else {
        file.resume();
      }
    }
  } catch {
    layer.resume();
  }
  return files;
}

export async function readImageFacts(docker: Docker, ref: string): Promise<ImageFacts> {
  const image = docker.getImage(ref);
  const info = await image.inspect();
  const history = (await image.history()) as { CreatedBy?: string }[];
  const files: LayerFile[] = [];
  let layerOrder: string[] = [];
  for await (const entry of (await image.get()).pipe(extract())) {
    const name = entry.header.name;
    if (name === 'manifest.json') {
      layerOrder = (JSON.parse((await readAll(entry)).toString('utf8')) as { Layers: string[] }[])[0]?.Layers ?? [];
    } else if (entry.header.type === 'file' && (name.endsWith('/layer.tar') || name.startsWith('blobs/'))) {
      files.push(...(await filesOfLayer(name, entry)));
    } else {
      entry.resume();
    }
  }
  return {
    env: info.Config?.Env ?? [],
    labels: info.Config?.Labels ?? {},
    // The API lists history newest first.
    history: history.map((h) => h.CreatedBy ?? '').reverse(),
    files: files
      .map((f) => ({ layer: layerOrder.indexOf(f.blob), path: f.path, text: f.text }))
      .sort((a, b) => a.layer - b.layer || a.path.localeCompare(b.path)),
  };
}
