// A lane job's end, for its credentials: what the job refreshed goes back to the host by the write-back rule, the job
// folder goes, and each copy's outcome is logged and counted. Only a released job has copies: a refused one left no
// manifest, so nothing of its folder can reach the host.
import type { Config } from '../config/config.js';
import type { JobObserver } from '../model/job.js';
import type { Logger } from '../observe/logger.js';
import { finishJobFolder } from './job-folder.js';
import { errorMessage } from '../util/error-message.js';

/** Returns the operator-facing problem when a write-back was refused or failed (the host file is then unchanged). */
export async function returnCredentials(
  config: Config,
  runner: string,
  profile: string,
  out: { log: Logger; observer?: JobObserver },
): Promise<string | undefined> {
  const { log, observer } = out;
  let problem: string | undefined;
  try {
    for (const { source, outcome, detail } of await finishJobFolder(config, runner)) {
      observer?.credentialWriteBack?.(profile, outcome);
      if (outcome === 'written') log.info({ source }, 'refreshed credential written back to the host');
      else if (outcome === 'source-changed')
        log.warn(
          { source },
          'credential refreshed by this job not written back: another job refreshed the host file first',
        );
      else if (outcome !== 'unchanged' && outcome !== 'missing') {
        problem = `credential write-back refused for ${source}: ${refusal(outcome, detail)}; the host file is unchanged`;
        log.error({ source, outcome, detail }, 'credential write-back refused; the host file is unchanged');
      }
    }
  } catch (err) {
    problem = `credential write-back failed for runner ${runner}: ${errorMessage(err)}`;
    log.error({ err: errorMessage(err) }, 'credential write-back failed');
  }
  return problem;
}

function refusal(outcome: string, detail: string | undefined): string {
  if (outcome === 'unsafe') return `the job left ${detail}`;
  if (outcome === 'rejected-shape') return 'the job left a file that does not parse as credentials';
  if (outcome === 'rejected-other-login') return "the job left another login than the host's";
  return `${outcome}${detail ? `: ${detail}` : ''}`;
}
