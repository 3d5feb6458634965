// GitHub's side of one launch for the launcher's in-memory tests: the JIT registration (a 502 when asked to fail) and
// the runner deletion a failed launch makes, each recorded in `steps` in the order they happen.
import { GitHubError, type GitHubApi } from '../../controller/github/github-client.js';

export function recordingGitHub(steps: string[], fail: { jit?: boolean } = {}): GitHubApi {
  return {
    async generateJitConfig() {
      steps.push('jit');
      if (fail.jit) throw new GitHubError(502, 'POST generate-jitconfig', 'o/r', 'bad gateway');
      return { runnerId: 7, encodedJitConfig: 'e30=' };
    },
    async deleteRunner() {
      steps.push('delete runner');
      return 'deleted' as const;
    },
  } as unknown as GitHubApi;
}
