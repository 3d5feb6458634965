// Where a command writes: the process's streams in production, a capture in tests. Its own file so that the
// commands need not import the CLI entry that imports them.
export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const processIo: Io = {
  stdout: (s) => process.stdout.write(s + '\n'),
  stderr: (s) => process.stderr.write(s + '\n'),
};
