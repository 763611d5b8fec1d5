import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeAddon, type NativeAddon } from './native.js';

const missing = (): NativeAddon => {
  throw new Error("Cannot find module '../../native/build/Release/venus_native.node'");
};
const addon: NativeAddon = { sdrShaBackend: () => 'portable' };

test('a missing addon falls back to the TypeScript kernels by default', () => {
  assert.equal(loadNativeAddon({}, missing), null);
});

test('VENUS_REQUIRE_NATIVE makes a missing addon an error that says what to do', () => {
  assert.throws(
    () => loadNativeAddon({ VENUS_REQUIRE_NATIVE: '1' }, missing),
    /VENUS_REQUIRE_NATIVE is set but the native kernels .* did not load: Cannot find module.*build-native/,
  );
});

test('VENUS_NO_NATIVE selects the TypeScript path even when native kernels are required', () => {
  let loaded = false;
  const load = () => {
    loaded = true;
    return addon;
  };
  assert.equal(loadNativeAddon({ VENUS_NO_NATIVE: '1', VENUS_REQUIRE_NATIVE: '1' }, load), null);
  assert.equal(loaded, false);
});

test('a loadable addon is returned whatever the flags', () => {
  assert.equal(
    loadNativeAddon({}, () => addon),
    addon,
  );
  assert.equal(
    loadNativeAddon({ VENUS_REQUIRE_NATIVE: '1' }, () => addon),
    addon,
  );
});

test('the built addon loads from its real path (the CI builds it; skipped where it is not built)', (t) => {
  let real: NativeAddon | null = null;
  try {
    real = loadNativeAddon({ VENUS_REQUIRE_NATIVE: '1' });
  } catch (err) {
    if (process.env.VENUS_REQUIRE_NATIVE) throw err;
    t.skip('native addon not built');
    return;
  }
  assert.equal(typeof real?.sdrShaBackend, 'function');
});
