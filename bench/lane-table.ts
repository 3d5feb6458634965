// The agent-lane rows of the benchmark table, from one run's numbers: pure, so the targets can be checked in tests.
import { AGENTS, type AgentLaneResult } from './agent-lane.js';

export type Row = [measure: string, result: string, target: string, verdict: string];

/** How much later than `node -e ""` exits the action may spawn its agent CLI. */
export const SPAWN_BUDGET_MS = 150;
export const MISSED = '**missed**';

const ms = (n: number) => `${Math.round(n)} ms`;
const verdict = (ok: boolean) => (ok ? 'met' : MISSED);

export function laneRows(lane: AgentLaneResult): Row[] {
  const floor = lane.nodeFloorMs;
  const target = `< \`node -e ""\` + ${SPAWN_BUDGET_MS} ms`;
  /** Only the stand-in rows carry the target: the real runs also wait for the actor check's GitHub lookup. */
  const spawnRow = (label: string, m: number | undefined, runs: number, targeted = true): Row =>
    m === undefined
      ? [label, 'not measured (see below)', targeted ? target : '', MISSED]
      : [
          `${label}, median of ${runs}`,
          `${ms(m)} (\`node -e ""\` + ${ms(m - floor)}, ${(m / floor).toFixed(2)}×)`,
          targeted ? target : '',
          targeted ? verdict(m - floor < SPAWN_BUDGET_MS) : '',
        ];
  if (!lane.present)
    return [['agent-lane start', 'dist/agent-lane/index.js not built (`npm run bundle`)', target, MISSED]];
  const rows: Row[] = AGENTS.map((agent) =>
    spawnRow(
      `agent-lane, stand-in ${agent} CLI: action start → CLI spawned`,
      lane.standinMedianMs[agent],
      lane.standin[agent]?.length ?? 0,
    ),
  );
  for (const agent of AGENTS) {
    const m = lane.realMedianMs[agent];
    const runs = lane.real[agent]?.length ?? 0;
    rows.push(
      spawnRow(
        `agent-lane, real ${agent} CLI on a pull_request (actor check included): action start → CLI spawned`,
        m?.spawned,
        runs,
        false,
      ),
    );
    if (m)
      rows.push([
        `agent-lane, real ${agent} CLI against the loopback model: → first model request → report posted → action exited, medians of ${runs}`,
        `${ms(m.firstRequest)} → ${ms(m.reported)} → ${ms(m.exited)}`,
        '',
        '',
      ]);
  }
  rows.push(['Node start to exit (`node -e ""`), the floor of any Node action, same run', ms(floor), '', '']);
  return rows;
}

/** The rows whose target was missed: any one fails `npm run bench` unless it only reports. */
export function missedRows(rows: Row[]): Row[] {
  return rows.filter((r) => r[3] === MISSED);
}
