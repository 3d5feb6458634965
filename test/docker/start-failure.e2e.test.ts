// The engine's 404s read for what they are: a missing image is named as the image, a missing network as the network
// (a swarm profile with `network: none` got "image … not found" for every job while the image was there).
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { startFailure } from '../../controller/docker/start-failure.js';
import { STANDIN_IMAGE } from '../../controller/commands/demo.js';

const docker = new Docker();
const created: Docker.Container[] = [];
afterAll(async () => {
  for (const c of created) await c.remove({ force: true }).catch(() => {});
});

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the engine to refuse');
    },
    (err: unknown) => err,
  );

describe('startFailure on the real engine', () => {
  it('a network the engine does not have is named as the network, not as a missing image', async () => {
    const container = await docker.createContainer({
      Image: STANDIN_IMAGE,
      name: `factory-g-start-failure-${process.pid}`,
      HostConfig: { NetworkMode: 'factory-g-no-such-network' },
    });
    created.push(container);
    const err = await errorOf(container.start());
    expect((err as { statusCode?: number }).statusCode).toBe(404);
    const text = startFailure(err, { image: STANDIN_IMAGE, network: 'factory-g-no-such-network' }, 'ci');
    expect(text).toMatch(/^network factory-g-no-such-network not found for profile ci: .*factory-g-no-such-network/);
    expect(text).not.toContain('image');
  });

  it('an image the engine does not have is named as the image', async () => {
    const err = await errorOf(docker.createContainer({ Image: 'factory-g/no-such-image:1' }));
    expect((err as { statusCode?: number }).statusCode).toBe(404);
    expect(startFailure(err, { image: 'factory-g/no-such-image:1', network: 'bridge' }, 'ci')).toBe(
      'image factory-g/no-such-image:1 not found on this host (profile ci)',
    );
  });

  it("the swarm engine's answer for network none reads as the network", () => {
    const err = Object.assign(new Error('(HTTP code 404) no such container - network none not found'), {
      statusCode: 404,
    });
    expect(startFailure(err, { image: 'ci:1', network: 'none' }, 'ci')).toMatch(
      /^network none not found for profile ci/,
    );
    expect(startFailure(new Error('boom'), { image: 'ci:1' }, 'ci')).toBe('container start failed: boom');
  });
});
