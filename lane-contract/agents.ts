// The agents a lane can carry, and the runner labels that pick each one: named once for the controller's config,
// the job folder and both actions.
export const AGENTS = ['codex', 'claude'] as const;
export type Agent = (typeof AGENTS)[number];

/** Runner labels that pick a lane, for the error a job gets when it runs anywhere else. */
export const LANE_LABELS: Record<Agent, string> = {
  codex: '[self-hosted, factory, codex]',
  claude: '[self-hosted, factory, claude]',
};
