/**
 * Global setup for the docker tests: a Docker engine (the one DOCKER_HOST or the default socket
 * names, else a private dockerd this setup starts and later stops) and the replab image, built
 * offline from this checkout. Teardown removes every container and volume the tests labelled.
 */

import { CLUSTER_LABEL } from '../../src/cluster/launcher-docker.js';
import { dockerClient, ensureEngine, stopPrivateEngine } from '../../src/docker/engine.js';
import { buildImageOffline } from '../../src/docker/image.js';

let startedHere = false;

export async function setup(): Promise<void> {
  const engine = await ensureEngine();
  startedHere = engine.started;
  process.env.DOCKER_HOST = engine.host;
  await buildImageOffline(dockerClient(engine.host));
}

export async function teardown(): Promise<void> {
  const docker = dockerClient();
  const containers = await docker.listContainers({ all: true, filters: { label: [CLUSTER_LABEL] } }).catch(() => []);
  for (const c of containers)
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  const volumes = await docker.listVolumes().catch(() => ({ Volumes: [] as Array<{ Name: string }> }));
  for (const v of volumes.Volumes ?? [])
    if (v.Name.startsWith('replab-'))
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => {});
  if (startedHere) await stopPrivateEngine();
}
