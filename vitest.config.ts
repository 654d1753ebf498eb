import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    reporters: process.env.CI ? ['verbose'] : ['default'],
    // Finds the software Vulkan device for the workers and prints which device suites skip (one line).
    globalSetup: ['test/setup/devices.ts'],
  },
});
