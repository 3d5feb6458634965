// `factory doctor`'s look at each repo's workflows: a job with `services:` or `container:` needs a Docker engine,
// which only a profile with `docker: { sidecar: true }` gives (docs/job-docker.md). Pure: the files come in as text.
import { parse } from 'yaml';
import type { Config } from '../config/config.js';
import { matchProfile } from '../daemon/profile-match.js';
import type { WorkflowFile } from '../github/github-client.js';
import type { DoctorRow } from './doctor-script.js';
import { errorMessage } from '../util/error-message.js';

type Job = { 'runs-on'?: unknown; services?: unknown; container?: unknown };

/** The labels a job asks for; undefined when they are an expression only the run can evaluate. */
function runsOnLabels(runsOn: unknown): string[] | undefined {
  const value =
    runsOn !== null && typeof runsOn === 'object' && !Array.isArray(runsOn)
      ? (runsOn as { labels?: unknown }).labels
      : runsOn;
  const labels = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  if (labels.length === 0 || labels.some((l) => typeof l !== 'string' || l.includes('${{'))) return undefined;
  return labels as string[];
}

export function workflowDockerRows(config: Config, repo: string, files: readonly WorkflowFile[]): DoctorRow[] {
  const rows: DoctorRow[] = [];
  let checked = 0;
  for (const file of files) {
    let doc: { jobs?: Record<string, Job> } | undefined;
    try {
      doc = parse(file.text) as typeof doc;
    } catch (err) {
      rows.push({
        scope: repo,
        name: `workflow ${file.path}`,
        ok: true,
        warning: true,
        detail: `not read: ${errorMessage(err).split('\n')[0]}`,
        fix: 'actionlint the file',
      });
      continue;
    }
    for (const [id, job] of Object.entries(doc?.jobs ?? {})) {
      const needs = (['services', 'container'] as const).filter((k) => job?.[k] !== undefined);
      const labels = runsOnLabels(job?.['runs-on']);
      if (needs.length === 0 || labels === undefined) continue;
      const match = matchProfile(config, repo, labels);
      if (!match) continue;
      checked++;
      if (match.profile.docker) continue;
      rows.push({
        scope: repo,
        name: `workflow ${file.path}`,
        ok: true,
        warning: true,
        detail: `job ${id} uses ${needs.map((n) => `${n}:`).join(' and ')} on profile "${match.profileName}", which has no Docker engine: the job will fail`,
        fix: `add docker: { sidecar: true } to profiles.${match.profileName} (docs/job-docker.md), or run the job on a profile that has it`,
      });
    }
  }
  if (rows.length === 0)
    rows.push({
      scope: repo,
      name: 'workflows',
      ok: true,
      detail:
        checked === 0
          ? `${files.length} workflow file(s): no job on a factory profile uses services: or container:`
          : `${checked} job(s) with services: or container: run on profiles with their own Docker engine`,
    });
  return rows;
}
