// The workflow's prompt file. On a pull request the checkout is the PR's, so a prompt read from it is the PR
// author's: it is read from the base commit instead, and a file the base does not have is refused.
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { LaneGitHub } from './lane-github.js';

export interface PromptFileSource {
  file: string;
  workingDirectory: string;
  /** The checkout's root: the repository path of the file is relative to it. */
  workspace: string;
  /** The pull request's base commit, on pull request events. */
  baseSha?: string;
  github?: Pick<LaneGitHub, 'readFileAt'>;
}

export async function readPromptFile(s: PromptFileSource): Promise<string> {
  const full = resolve(s.workingDirectory, s.file);
  if (s.baseSha === undefined) {
    return readFile(full, 'utf8').catch((err: Error) => {
      throw new Error(`input "prompt-file": ${err.message}`);
    });
  }
  const path = relative(s.workspace, full);
  if (path.startsWith('..') || isAbsolute(path))
    throw new Error(`input "prompt-file": ${full} is outside the checkout ${s.workspace}`);
  if (!s.github)
    throw new Error(
      `input "prompt-file": on a pull request the prompt is read from the base commit ${s.baseSha}, which needs github-token`,
    );
  const text = await s.github.readFileAt(path.split(sep).join('/'), s.baseSha);
  if (text === undefined)
    throw new Error(
      `input "prompt-file": ${path} is not in the base commit ${s.baseSha}; a pull request cannot bring its own prompt`,
    );
  return text;
}
