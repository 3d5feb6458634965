// Swarm's placement constraints evaluated against its node list, as the scheduler does, so `factory doctor` can say
// which profile can land on which node before a job finds out.
export interface SwarmNode {
  ID: string;
  Description?: {
    Hostname?: string;
    Platform?: { OS?: string; Architecture?: string };
    Engine?: { Labels?: Record<string, string> };
  };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  Status?: { State?: string; Addr?: string };
}

const CONSTRAINT = /^\s*([A-Za-z0-9_.-]+)\s*(==|!=)\s*(.+?)\s*$/;

/** The node's value for a constraint key; undefined when it has none (a label not set). */
function valueOf(node: SwarmNode, key: string): string | undefined {
  if (key === 'node.id') return node.ID;
  if (key === 'node.hostname') return node.Description?.Hostname;
  if (key === 'node.role') return node.Spec?.Role;
  if (key === 'node.platform.os') return node.Description?.Platform?.OS;
  if (key === 'node.platform.arch') return node.Description?.Platform?.Architecture;
  if (key.startsWith('node.labels.')) return node.Spec?.Labels?.[key.slice('node.labels.'.length)];
  if (key.startsWith('engine.labels.')) return node.Description?.Engine?.Labels?.[key.slice('engine.labels.'.length)];
  return undefined;
}

/** Docker's rule: `==` needs the value; `!=` holds when the value differs or is missing. Values compare case-insensitively. */
export function satisfies(node: SwarmNode, constraint: string): boolean {
  const m = CONSTRAINT.exec(constraint);
  if (!m) return false;
  const value = valueOf(node, m[1]!);
  const equal = value !== undefined && value.toLowerCase() === m[3]!.toLowerCase();
  return m[2] === '==' ? equal : !equal;
}

/** Nodes that can take a task now: ready, active, and meeting every constraint. */
export function nodesFor(constraints: string[], nodes: SwarmNode[]): SwarmNode[] {
  return nodes.filter(
    (n) =>
      n.Status?.State === 'ready' && n.Spec?.Availability === 'active' && constraints.every((c) => satisfies(n, c)),
  );
}

export const nodeName = (n: SwarmNode) => n.Description?.Hostname ?? n.ID;
