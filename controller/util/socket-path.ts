// Linux's sun_path is 108 bytes with its terminating NUL: a longer unix socket path cannot be bound or connected, and
// Node's error for it (EINVAL or ENAMETOOLONG) names neither the path nor what to shorten.
export const MAX_SOCKET_PATH = 107;

/** Why a socket cannot be made at `path`, naming what to shorten; undefined when it can. */
export function socketPathProblem(path: string, shorten: string): string | undefined {
  const bytes = Buffer.byteLength(path);
  if (bytes <= MAX_SOCKET_PATH) return undefined;
  return `the socket ${path} is ${bytes} bytes, over Linux's ${MAX_SOCKET_PATH}: shorten ${shorten}`;
}
