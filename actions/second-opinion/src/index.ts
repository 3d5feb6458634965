// The bundle's entry point; everything else lives in main.ts so tests can call run() directly.
import { run } from './main.js';

await run();
