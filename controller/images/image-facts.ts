// Reads what an image exposes to anyone who can pull it: config, history and every layer's files (`docker save`).
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { shouldRead, type ImageFacts } from './image-audit.js';

type LayerFile = { blob: string; path: string; text: string };

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const isGzip = (chunk: Buffer) => chunk[0] === 0x1f && chunk[1] === 0x8b;

/**
 * Files worth reading in one blob of the archive, or why it is not a tarball: an OCI config blob is not (and is no
 * layer), a layer always is. The containerd image store (Docker 29's default) saves layers gzip-compressed, as stored.
 * The blob is read to its end whatever happens, so the archive around it keeps moving.
 */
async function filesOfBlob(
  blob: string,
  bytes: AsyncIterable<Buffer>,
): Promise<{ files: LayerFile[]; error?: string }> {
  const files: LayerFile[] = [];
  const inner = extract();
  let failure: Error | undefined;
  const reading = (async () => {
    for await (const file of inner) {
      const path = file.header.name.replace(/^\.?\//, '');
      if (
        file.header.type === 'file' &&
        !path.split('/').at(-1)!.startsWith('.wh.') &&
        shouldRead(path, file.header.size ?? 0)
      ) {
        const content = await readAll(file);
        // Binaries (the runner's assemblies, for one) keep their path, which can still be a finding, but not their bytes.
        files.push({ blob, path, text: content.subarray(0, 8192).includes(0) ? '' : content.toString('utf8') });
      } else {
        file.resume();
      }
    }
  })().catch((err: Error) => {
    failure ??= err;
  });

  let sink: NodeJS.WritableStream | undefined;
  for await (const chunk of bytes) {
    if (failure) continue;
    if (!sink) {
      if (isGzip(chunk)) {
        const gunzip = createGunzip();
        gunzip.on('error', (err) => inner.destroy(err));
        gunzip.pipe(inner as unknown as NodeJS.WritableStream);
        sink = gunzip;
      } else {
        sink = inner as unknown as NodeJS.WritableStream;
      }
    }
    if (!sink.write(chunk)) await Promise.race([once(sink, 'drain'), reading]);
  }
  if (!failure) (sink ?? (inner as unknown as NodeJS.WritableStream)).end();
  await reading;
  return failure ? { files, error: failure.message } : { files };
}

export async function readImageFacts(docker: Docker, ref: string): Promise<ImageFacts> {
  const image = docker.getImage(ref);
  const info = await image.inspect();
  const history = (await image.history()) as { CreatedBy?: string }[];
  const files: LayerFile[] = [];
  const unreadable = new Map<string, string>();
  let layerOrder: string[] = [];
  for await (const entry of (await image.get()).pipe(extract())) {
    const name = entry.header.name;
    if (name === 'manifest.json') {
      layerOrder = (JSON.parse((await readAll(entry)).toString('utf8')) as { Layers: string[] }[])[0]?.Layers ?? [];
    } else if (entry.header.type === 'file' && (name.endsWith('/layer.tar') || name.startsWith('blobs/'))) {
      const blob = await filesOfBlob(name, entry as AsyncIterable<Buffer>);
      files.push(...blob.files);
      if (blob.error !== undefined) unreadable.set(name, blob.error);
    } else {
      entry.resume();
    }
  }
  // A layer the audit could not open would otherwise pass as a layer without findings.
  const unread = layerOrder.find((layer) => unreadable.has(layer));
  if (unread !== undefined)
    throw new Error(`layer ${unread} of ${ref} is not a tarball the audit can read (${unreadable.get(unread)})`);
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
