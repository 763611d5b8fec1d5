// Builds the optional native kernels (native/binding.gyp) with node-gyp.
// A failed build is not fatal: every kernel has a pure TypeScript fallback giving identical bytes.
// With VENUS_REQUIRE_NATIVE set (CI), it is: the run must test the C kernels against the TypeScript ones.
// VENUS_NO_NATIVE skips the build (the programs then use the TypeScript kernels).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'native');
const required = Boolean(process.env.VENUS_REQUIRE_NATIVE);

/** Without the kernels: a warning, or the end of the run when they are required. */
function without(why) {
  if (required) {
    console.error(`[build-native] ${why}, and VENUS_REQUIRE_NATIVE is set: failing`);
    process.exit(1);
  }
  console.warn(`[build-native] ${why}; using the TypeScript kernels`);
  process.exit(0);
}

if (process.env.VENUS_NO_NATIVE) process.exit(0);
if (!existsSync(join(dir, 'binding.gyp'))) without('native/binding.gyp is missing');
let gyp;
try {
  gyp = join(dirname(createRequire(import.meta.url).resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
} catch {
  without('node-gyp not installed');
}
// Up to date (npm start and npm test build every time): nothing to do when the addon is newer than its sources.
const addon = join(dir, 'build', 'Release', 'venus_native.node');
const sources = [join(dir, 'binding.gyp'), ...readdirSync(join(dir, 'src')).map((f) => join(dir, 'src', f))];
if (existsSync(addon) && sources.every((f) => statSync(f).mtimeMs < statSync(addon).mtimeMs)) process.exit(0);
// Outside npm (no npm_config_nodedir), point node-gyp at the installed headers rather than a download.
const args = [gyp, 'rebuild', '--release', '--silent'];
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const res = spawnSync(process.execPath, args, { cwd: dir, stdio: 'inherit' });
if (res.status !== 0) without(`native kernels failed to build (node-gyp exit ${res.status ?? res.signal})`);
