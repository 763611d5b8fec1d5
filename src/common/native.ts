/**
 * The optional native kernels (native/, built by node-gyp at install). `null` when the build failed or
 * VENUS_NO_NATIVE is set: callers then use their TypeScript fallback, which gives identical bytes.
 */
import { createRequire } from 'node:module';

// biome-ignore lint/suspicious/noExplicitAny: the addon's surface is typed by each kernel's wrapper
export type NativeAddon = Record<string, (...args: any[]) => any>;

let cached: NativeAddon | null | undefined;

export function nativeAddon(): NativeAddon | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.VENUS_NO_NATIVE) return cached;
  try {
    const require = createRequire(import.meta.url);
    cached = require('../../native/build/Release/venus_native.node') as NativeAddon;
  } catch {
    cached = null;
  }
  return cached;
}
