// Builds the optional native kernels (native/binding.gyp) with node-gyp.
// A failed build is not fatal: every kernel has a pure TypeScript fallback giving identical bytes.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'native');
if (!existsSync(join(dir, 'binding.gyp')) || process.env.VENUS_NO_NATIVE) process.exit(0);
let gyp;
try {
  gyp = join(dirname(createRequire(import.meta.url).resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
} catch {
  console.warn('[build-native] node-gyp not installed; using the TypeScript kernels');
  process.exit(0);
}
// Up to date (npm start and npm test build every time): nothing to do when the addon is newer than its sources.
const addon = join(dir, 'build', 'Release', 'venus_native.node');
const sources = [join(dir, 'binding.gyp'), ...readdirSync(join(dir, 'src')).map((f) => join(dir, 'src', f))];
if (existsSync(addon) && sources.every((f) => statSync(f).mtimeMs < statSync(addon).mtimeMs)) process.exit(0);
// Outside npm (no npm_config_nodedir), point node-gyp at the installed headers rather than a download.
const args = [gyp, 'rebuild', '--release', '--silent'];
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const res = spawnSync(process.execPath, args, { cwd: dir, stdio: 'inherit' });
if (res.status !== 0) console.warn('[build-native] native kernels failed to build; using the TypeScript kernels');
