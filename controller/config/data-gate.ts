// Where a lane's data stores wait for the release. A data mount is in the container from its start (Docker cannot add
// a mount to a running container without host mount propagation), so each sits inside a gate: its target's parent
// folder, bound from the job folder read-only and mode 000 until the release opens it (lanes/data-release.ts). A job
// that reaches the runner without a verified assignment finds the gate shut, whatever uid it switches to: with every
// capability dropped no one passes a mode-000 folder, and on a read-only bind no one can chmod it.
import { posix } from 'node:path';
import type { Profile } from './config-schema.js';
import type { Refuse } from './trust-gate.js';

/** A gate folder in the container and the data mounts under it (their index in the profile's mounts). */
export interface DataGate {
  path: string;
  mounts: Array<{ index: number; target: string; name: string }>;
}

const clean = (path: string) => posix.resolve('/', path);

/** The profile's data gates, one per distinct parent of a data target, in the order the mounts name them. */
export function dataGates(profile: Pick<Profile, 'mounts'>): DataGate[] {
  const gates = new Map<string, DataGate>();
  profile.mounts.forEach((m, index) => {
    if (m.kind !== 'data') return;
    const target = clean(m.target);
    const path = posix.dirname(target);
    const gate = gates.get(path) ?? { path, mounts: [] };
    gate.mounts.push({ index, target, name: posix.basename(target) });
    gates.set(path, gate);
  });
  return [...gates.values()];
}

// Folders of the image a gate would hide: the system's, the runner's home and factory's own.
const HIDDEN_FOLDERS = new Set(
  ['/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/media', '/mnt', '/opt']
    .concat(['/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/var', '/home/runner', '/factory'])
    .concat(['/home/runner/_work']),
);
const SYSTEM_TREES = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/run'].concat([
  '/sbin',
  '/sys',
  '/usr',
  '/var',
  '/factory',
]);
const within = (inner: string, outer: string) => inner === outer || inner.startsWith(outer + '/');
const overlaps = (a: string, b: string) => within(a, b) || within(b, a);

/** Capabilities that pass a mode-000 folder, or remount the gate writable: either opens it before the release. */
const GATE_BREAKERS = new Set(['ALL', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'SYS_ADMIN']);

/**
 * Refuses a data target whose gate would hide what the image or another mount needs: a system folder, the runner's
 * home, another mount's target or another gate; and a capability that would open the gates early.
 */
export function refuseUnsafeDataTargets(p: Pick<Profile, 'mounts' | 'capAdd'>, refuse: Refuse): void {
  const gates = dataGates(p);
  if (gates.length === 0) return;
  const others = p.mounts.flatMap((m, i) =>
    m.kind !== 'data' && 'target' in m ? [{ i, target: clean(m.target) }] : [],
  );
  const why = `a data mount's folder stays closed until the release and hides what the image has there`;
  for (const gate of gates)
    for (const m of gate.mounts) {
      const at = ['mounts', m.index, 'target'];
      const hint = `put the data in a folder of its own, such as /data/${m.name}`;
      if (HIDDEN_FOLDERS.has(gate.path) || SYSTEM_TREES.some((t) => within(gate.path, t)))
        refuse(at, `${why}, and ${gate.path} is the image's own: ${hint}`);
      const other = others.find((o) => overlaps(o.target, gate.path));
      if (other) refuse(at, `${why}, and ${gate.path} overlaps mounts[${other.i}] (${other.target}): ${hint}`);
      const nested = gates.find((g) => g !== gate && overlaps(g.path, gate.path));
      if (nested) refuse(at, `${why}, and ${gate.path} overlaps the data folder ${nested.path}: ${hint}`);
    }
  for (const cap of p.capAdd) {
    const name = cap.replace(/^CAP_/, '');
    if (GATE_BREAKERS.has(name))
      refuse(['capAdd'], `${cap} passes the closed folder that keeps the data mounts until the release: drop it`);
  }
}
