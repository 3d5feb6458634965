// What housekeeping may remove: only the factory's own leftovers, never what a job or build uses, only when old.
import { describe, expect, it } from 'vitest';
import {
  planHousekeeping,
  type ContainerFact,
  type HousekeepingFacts,
} from '../../controller/housekeeping/housekeeping-plan.js';

const HOUR = 3_600_000;
const now = 100 * HOUR;
const ours = (instance = 'default') => ({ 'factory.managed': 'true', 'factory.instance': instance });
const container = (
  id: string,
  state: string,
  labels: Record<string, string>,
  ageH: number,
  imageId = 'sha256:img-run',
  volumes: string[] = [],
): ContainerFact => ({
  id,
  state,
  labels,
  createdMs: now - ageH * HOUR,
  imageId,
  volumes,
});
const image = (
  id: string,
  ageH: number,
  labels: Record<string, string> = { 'factory.image': 'base' },
  dangling = true,
) => ({ id, createdMs: now - ageH * HOUR, labels, dangling, size: 100 });

const facts: HousekeepingFacts = {
  now,
  containers: [
    container('exited-old', 'exited', ours(), 48, 'sha256:img-of-exited', ['factory-ws-a-ci-1']),
    container('dead-old', 'dead', ours(), 48),
    container('exited-new', 'exited', ours(), 1),
    container('running', 'running', ours(), 48, 'sha256:img-in-use', ['factory-ws-b-ci-2']),
    container('launching', 'created', ours(), 48),
    container('other-instance', 'exited', ours('blue'), 48),
    container('not-ours', 'exited', {}, 48, 'sha256:img-stopped-not-ours'),
  ],
  images: [
    image('sha256:img-old', 48),
    image('sha256:img-new', 1),
    image('sha256:img-of-exited', 48),
    image('sha256:img-in-use', 48),
    image('sha256:img-stopped-not-ours', 48),
    image('sha256:img-unlabelled', 48, {}),
    image('sha256:img-tagged', 48, { 'factory.image': 'base' }, false),
  ],
  volumes: [
    { name: 'factory-ws-a-ci-1', createdMs: now - 48 * HOUR },
    { name: 'factory-ws-b-ci-2', createdMs: now - 48 * HOUR },
    { name: 'factory-ws-c-ci-3', createdMs: now - 1 * HOUR },
    { name: 'someone-elses', createdMs: now - 48 * HOUR },
  ],
};

describe('planHousekeeping', () => {
  const plan = planHousekeeping(facts, { olderThanMs: 24 * HOUR, instance: 'default', workspaces: true });

  it('removes only exited or dead containers of this instance that are old enough', () => {
    expect(plan.containers).toEqual(['exited-old', 'dead-old']);
  });

  it("removes old dangling factory images no remaining container uses, an exited container's once it goes", () => {
    expect(plan.images.map((i) => i.id)).toEqual(['sha256:img-old', 'sha256:img-of-exited']);
  });

  it("removes old workspace volumes no remaining container mounts, never another's volumes", () => {
    expect(plan.volumes).toEqual(['factory-ws-a-ci-1']);
  });

  it("leaves workspace volumes alone unless asked, and every instance's containers are in scope without one", () => {
    const all = planHousekeeping(facts, { olderThanMs: 24 * HOUR, workspaces: false });
    expect(all.volumes).toEqual([]);
    expect(all.containers).toEqual(['exited-old', 'dead-old', 'other-instance']);
  });
});
