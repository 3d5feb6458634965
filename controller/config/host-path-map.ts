// The double mount: when the controller runs inside a container or an LXC guest, the paths it sees are
// not the Docker host's, and Docker resolves bind sources on the host. Every bind source passes through here.
import { posix } from 'node:path';

export interface PathMapping {
  from: string;
  to: string;
}

/** `..`, `.` and repeated slashes removed; relative input is taken from `/`. */
export const normalisePath = (path: string) => posix.resolve('/', path);

/** The host's view of a path the controller sees; the longest matching `from` prefix wins. */
export function toHostPath(path: string, map: readonly PathMapping[]): string {
  let best: PathMapping | undefined;
  for (const m of map) {
    const from = m.from.replace(/\/+$/, '') || '/';
    const under = path === from || path.startsWith(from === '/' ? '/' : from + '/');
    if (under && (!best || from.length > best.from.replace(/\/+$/, '').length)) best = m;
  }
  if (!best) return path;
  const from = best.from.replace(/\/+$/, '');
  const to = best.to.replace(/\/+$/, '');
  return to + path.slice(from.length) || '/';
}
