// What a failed container or service start means, in the operator's words. The engine answers 404 for anything it
// cannot find: the image, but also the network a profile names ("network none not found" for a swarm service).

export function startFailure(err: unknown, profile: { image: string; network?: string }, profileName: string): string {
  const detail = String((err as Error | undefined)?.message ?? err);
  if ((err as { statusCode?: number } | undefined)?.statusCode !== 404) return `container start failed: ${detail}`;
  if (/\bnetwork\b/i.test(detail))
    return `network ${profile.network ?? '(default)'} not found for profile ${profileName}: ${detail}; create it, or change the profile's network`;
  return `image ${profile.image} not found on this host (profile ${profileName})`;
}
