/**
 * The `replab:<version>` image. Two ways to the same content (the app runs `replab node|monitor|
 * proxy` as its entrypoint):
 *   dockerfile  `docker build` of the project's Dockerfile (FROM node:20-slim, production
 *               dependencies only) — needs a reachable registry;
 *   rootfs      offline: a root filesystem assembled from this machine's node binary and the
 *               shared libraries `ldd` lists for it, the built app and its production
 *               node_modules, then `docker import`ed with the entrypoint set. No registry needed.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { create as tarCreate } from 'tar';
import { EnvironmentError } from '../lib/errors.js';
import { projectRoot, readVersion } from '../lib/paths.js';

const run = promisify(execFile);

export const IMAGE_REPO = 'replab';
export const imageTag = () => `${IMAGE_REPO}:${readVersion()}`;

/** Absolute paths of the shared libraries (and the loader) `ldd` lists for a binary. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const out: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s*\(/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** Package folders of the production dependency tree (what `npm ci --omit=dev` would install). */
async function productionPackages(root: string): Promise<string[]> {
  const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, maxBuffer: 16 * 1024 * 1024 }).catch(
    (e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }),
  );
  return stdout.split('\n').filter((p) => p.includes(`${path.sep}node_modules${path.sep}`));
}

async function copyInto(rootfs: string, file: string): Promise<void> {
  const dest = path.join(rootfs, file);
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  await fsp.copyFile(await fsp.realpath(file), dest);
}

/** Assembles the root filesystem in a temp folder; returns its path. */
export async function assembleRootfs(): Promise<string> {
  const root = projectRoot();
  try {
    await fsp.access(path.join(root, 'dist', 'src', 'cli', 'main.js'));
  } catch {
    throw new EnvironmentError('dist/ is missing: run "npm run build" before building the image');
  }
  const rootfs = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-rootfs-'));
  const node = process.execPath;
  await copyInto(rootfs, node);
  if (node !== '/usr/local/bin/node') {
    await fsp.mkdir(path.join(rootfs, 'usr/local/bin'), { recursive: true });
    await fsp.symlink(node, path.join(rootfs, 'usr/local/bin/node')).catch(() => {});
  }
  for (const lib of await sharedLibraries(node)) await copyInto(rootfs, lib);
  const app = path.join(rootfs, 'app');
  await fsp.mkdir(app, { recursive: true });
  for (const f of ['package.json', 'bin', 'dist', 'clusters', 'workloads', 'suites'])
    await fsp.cp(path.join(root, f), path.join(app, f), { recursive: true }).catch(() => {});
  for (const pkg of await productionPackages(root)) {
    const rel = path.relative(root, pkg);
    await fsp.cp(pkg, path.join(app, rel), { recursive: true, filter: (src) => !src.slice(pkg.length).includes(`${path.sep}node_modules${path.sep}`) });
  }
  for (const d of ['tmp', 'data', 'etc']) await fsp.mkdir(path.join(rootfs, d), { recursive: true, mode: 0o1777 });
  await fsp.writeFile(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  return rootfs;
}

/** Builds the image offline (rootfs + import). Resolves with the tag. */
export async function buildImageOffline(docker: Docker, tag = imageTag()): Promise<string> {
  const rootfs = await assembleRootfs();
  try {
    const [repo, version] = tag.split(':');
    const stream = tarCreate({ cwd: rootfs, portable: true, follow: false }, ['.']);
    const res = await docker.importImage(
      stream as unknown as NodeJS.ReadableStream,
      {
        repo,
        tag: version,
        changes: ['ENTRYPOINT ["/usr/local/bin/node", "/app/bin/replab.js"]', 'WORKDIR /app', 'ENV NODE_ENV=production', 'LABEL org.replab.image=1'],
      } as never,
    );
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(res as unknown as NodeJS.ReadableStream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
    return tag;
  } finally {
    await fsp.rm(rootfs, { recursive: true, force: true });
  }
}

/** Builds from the Dockerfile (needs the node:20-slim base image or a registry to pull it from). */
export async function buildImageFromDockerfile(docker: Docker, tag = imageTag()): Promise<string> {
  const root = projectRoot();
  const context = tarCreate({ cwd: root, portable: true, filter: (p) => !/^(\.\/)?(node_modules|reports|\.replab|\.git)(\/|$)/.test(p) }, ['.']);
  const res = await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(res, (err: Error | null, out: Array<{ error?: string }>) =>
      err ? reject(err) : out.find((o) => o.error) ? reject(new Error(out.find((o) => o.error)!.error)) : resolve(),
    ),
  );
  return tag;
}
