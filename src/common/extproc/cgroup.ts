/**
 * cgroup cpuset pinning of external processors (v2, and v1's cpuset hierarchy). Each sub gets `<root>/<group>/sub-<stage>-<pid>-<idx>` with
 * `cpuset.cpus` set, and its pid written into `cgroup.procs` (the original's naming, docs/spec/sealer-api.md §Worker
 * configuration `cgroup.group_name`). The group is prepared once by scripts/create-cgroup.sh (created, cpuset enabled,
 * owned by the worker's user). Anything missing gives a reason the worker logs as a warning; the sub then runs
 * unpinned.
 */
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where cgroup v2 is mounted (VENUS_CGROUP_ROOT overrides it, for tests and unusual mounts). */
export function cgroupRoot(): string {
  return process.env.VENUS_CGROUP_ROOT ?? '/sys/fs/cgroup';
}

/** "0-7", "0,2,4-6": the kernel's cpu list syntax. */
export function isCpuList(s: string): boolean {
  return /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(s.trim());
}

export type PinResult = { ok: true; path: string } | { ok: false; reason: string };

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/** Moves `pid` into a child cgroup of `groupName` limited to `cpuset`. Never throws. */
export async function pinToCpuset(opts: {
  groupName: string;
  name: string;
  cpuset: string;
  pid: number;
  root?: string;
}): Promise<PinResult> {
  const root = opts.root ?? cgroupRoot();
  const hint = 'run scripts/create-cgroup.sh as the user that runs venus-worker';
  try {
    await access(join(root, 'cgroup.controllers'));
  } catch {
    return pinV1(root, opts, hint);
  }
  const group = join(root, opts.groupName);
  let subtree: string;
  try {
    subtree = await readFile(join(group, 'cgroup.subtree_control'), 'utf8');
  } catch (err) {
    return { ok: false, reason: `cgroup ${group} is not usable (${errCode(err)}): ${hint}` };
  }
  if (!subtree.split(/\s+/).includes('cpuset')) {
    return { ok: false, reason: `the cpuset controller is not enabled in ${group}/cgroup.subtree_control: ${hint}` };
  }
  const path = join(group, opts.name);
  try {
    await mkdir(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await writeFile(join(path, 'cpuset.cpus'), `${opts.cpuset}\n`);
    await writeFile(join(path, 'cgroup.procs'), `${opts.pid}\n`);
  } catch (err) {
    return { ok: false, reason: `cannot use ${path} (${errCode(err)}): ${hint}` };
  }
  return { ok: true, path };
}

/** cgroup v1: <root>/cpuset/<group>/<name>, with cpuset.mems copied from the group (v1 needs both set). */
async function pinV1(
  root: string,
  opts: { groupName: string; name: string; cpuset: string; pid: number },
  hint: string,
): Promise<PinResult> {
  const group = join(root, 'cpuset', opts.groupName);
  let mems: string;
  try {
    mems = (await readFile(join(group, 'cpuset.mems'), 'utf8')).trim();
  } catch (err) {
    const v1 = await access(join(root, 'cpuset')).then(
      () => true,
      () => false,
    );
    if (!v1) return { ok: false, reason: `neither cgroup v2 nor a v1 cpuset hierarchy is mounted at ${root}` };
    return { ok: false, reason: `cgroup ${group} is not usable (${errCode(err)}): ${hint}` };
  }
  const path = join(group, opts.name);
  try {
    await mkdir(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await writeFile(join(path, 'cpuset.cpus'), `${opts.cpuset}\n`);
    await writeFile(join(path, 'cpuset.mems'), `${mems}\n`);
    await writeFile(join(path, 'cgroup.procs'), `${opts.pid}\n`);
  } catch (err) {
    return { ok: false, reason: `cannot use ${path} (${errCode(err)}): ${hint}` };
  }
  return { ok: true, path };
}

/** Removes a sub's cgroup once its process is gone (best effort: the kernel refuses while it has members). */
export async function removeCgroup(path: string): Promise<void> {
  await rmdir(path).catch(() => {});
}
