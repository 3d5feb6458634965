// Observers run inside the controller's work and the GitHub client's request hook: one that throws must not stop the
// others, nor the job or the request.
import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../controller/observe/logger.js';
import { apiObservers, jobObservers } from '../../controller/observe/observers.js';

const broken = () => {
  throw new Error('observer bug');
};

describe('apiObservers', () => {
  it('a throwing observer neither reaches the caller nor keeps the call from the next one', () => {
    const calls: string[] = [];
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const observer = apiObservers(
        { onCall: broken, onRateLimitRemaining: broken },
        { onCall: (route, status) => calls.push(`${route} ${status}`) },
      );

      expect(() => observer.onCall!('GET /rate_limit', 200)).not.toThrow();
      expect(() => observer.onCall!('GET /rate_limit', 200)).not.toThrow();
      expect(() => observer.onRateLimitRemaining!(10)).not.toThrow();

      expect(calls).toEqual(['GET /rate_limit 200', 'GET /rate_limit 200']);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith('GitHub API observer failed: Error: observer bug', 'FactoryObserverWarning');
    } finally {
      warn.mockRestore();
    }
  });
});

describe('jobObservers', () => {
  it('a throwing observer does not keep the stage from the next one', () => {
    const stages: string[] = [];
    const observer = jobObservers(
      silentLogger(),
      { stage: broken },
      { stage: (jobId, stage) => stages.push(`${jobId} ${stage}`) },
    );

    expect(() => observer.stage(1, 'taken', { repo: 'org/app', at: 0 })).not.toThrow();

    expect(stages).toEqual(['1 taken']);
  });
});
