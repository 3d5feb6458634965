// Polls a bench's condition (a job finished, a pool filled, the controller settled) until it holds or the bound
// passes; the figures themselves come from the stand-in's and the timeline's clocks, not from this poll.
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
