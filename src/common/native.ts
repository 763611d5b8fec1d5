/**
 * The optional native kernels (native/, built by node-gyp at install). `null` when the build failed or
 * VENUS_NO_NATIVE is set: callers then use their TypeScript fallback, which gives identical bytes.
 *
 * VENUS_REQUIRE_NATIVE (set by CI) turns a missing or unloadable addon into an error, so a green run has
 * compared the C kernels with the TypeScript ones instead of silently skipping them. VENUS_NO_NATIVE still
 * wins: it is an explicit request for the TypeScript path.
 */
import { createRequire } from 'node:module';

// biome-ignore lint/suspicious/noExplicitAny: the addon's surface is typed by each kernel's wrapper
export type NativeAddon = Record<string, (...args: any[]) => any>;

const ADDON = '../../native/build/Release/venus_native.node';

/** The decision behind nativeAddon(), with the environment and the loader passed in (tests). */
export function loadNativeAddon(
  env: Record<string, string | undefined>,
  load: () => NativeAddon = () => createRequire(import.meta.url)(ADDON) as NativeAddon,
): NativeAddon | null {
  if (env.VENUS_NO_NATIVE) return null;
  try {
    return load();
  } catch (err) {
    if (env.VENUS_REQUIRE_NATIVE) {
      throw new Error(
        `VENUS_REQUIRE_NATIVE is set but the native kernels (native/build/Release/venus_native.node) did not load: ` +
          `${(err as Error).message.split('\n')[0]}; build them with \`node scripts/build-native.mjs\``,
      );
    }
    return null;
  }
}

let cached: NativeAddon | null | undefined;

export function nativeAddon(): NativeAddon | null {
  if (cached === undefined) cached = loadNativeAddon(process.env);
  return cached;
}
