import { defineConfig } from 'vitest/config';

export default defineConfig({
	test: {
		include: ['test/**/*.test.ts'],
		globalSetup: ['test/global-setup.ts'],
		testTimeout: 20_000,
		hookTimeout: 30_000,
		// Each file starts real mediasoup workers; run files one after the other to keep CPU predictable.
		fileParallelism: false,
	},
});
