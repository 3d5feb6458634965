// Once before the e2e project: the stand-in runner image as its files are now (rebuilt when they changed).
import { ensureStandinImages } from '../../controller/commands/demo.js';

export default async function setup(): Promise<void> {
  await ensureStandinImages();
}
