/**
 * `replab image build [--from rootfs|dockerfile]` builds the replab:<version> image;
 * `replab docker up|down` starts or stops a private Docker engine when none runs.
 */
import type { Command } from 'commander';
import { dockerClient, engineAnswers, ensureEngine, stopPrivateEngine } from '../../docker/engine.js';
import { buildImageFromDockerfile, buildImageOffline, imageTag } from '../../docker/image.js';
import { EnvironmentError } from '../../lib/errors.js';
import { choiceFlag } from '../options.js';

export function registerDockerCommands(program: Command): void {
  const image = program.command('image').description('the replab container image');
  image
    .command('build')
    .description("build replab:<version>: offline from this machine's node and the built app (default), or from the Dockerfile")
    .option('--from <how>', 'rootfs | dockerfile', choiceFlag('--from', ['rootfs', 'dockerfile'] as const), 'rootfs')
    .option('--tag <tag>', 'image tag', imageTag())
    .action(async (o: { from: 'rootfs' | 'dockerfile'; tag: string }) => {
      const docker = dockerClient();
      if (!(await engineAnswers(docker)))
        throw new EnvironmentError('no Docker engine answers (DOCKER_HOST or /var/run/docker.sock); "replab docker up" starts one');
      const tag = o.from === 'rootfs' ? await buildImageOffline(docker, o.tag) : await buildImageFromDockerfile(docker, o.tag);
      console.log(`built ${tag}`);
    });

  const docker = program.command('docker').description('a private Docker engine for the docker backend');
  docker
    .command('up')
    .description('start dockerd (sockets and data under /tmp) unless an engine already answers; prints the DOCKER_HOST to use')
    .action(async () => {
      const e = await ensureEngine();
      console.log(`export DOCKER_HOST=${e.host}${e.started ? '   # started now' : '   # already running'}`);
    });
  docker
    .command('down')
    .description('stop the private dockerd started by "replab docker up"')
    .action(async () => {
      console.log((await stopPrivateEngine()) ? 'private dockerd stopped' : 'no private dockerd was running');
    });
}
