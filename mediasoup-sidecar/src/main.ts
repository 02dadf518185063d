#!/usr/bin/env node
// CLI: node dist/main.js (configuration from the environment, see src/config.ts).
import { ConfigError, loadConfig } from './config.js';
import { Sidecar } from './Sidecar.js';

async function main(): Promise<void> {
	let config;
	try {
		config = loadConfig();
	} catch (err) {
		if (err instanceof ConfigError) {
			console.error(err.message);
			process.exit(2);
		}
		throw err;
	}
	const sidecar = await Sidecar.create(config);
	if (config.secretGenerated) sidecar.logger.warn('SIDECAR_SECRET is not set: a random secret was generated for this run (dev only; Frappe cannot reach this sidecar)');
	if (config.demo) console.log(`Demo page: ${sidecar.url}/demo/`);

	// One bad promise must not take every live call down with the process.
	process.on('unhandledRejection', (err) => sidecar.logger.error({ err }, 'unhandled rejection'));

	let stopping = false;
	const stop = (signal: NodeJS.Signals) => {
		if (stopping) return;
		stopping = true;
		sidecar.logger.info({ signal }, 'stopping');
		sidecar.drain().then(
			() => process.exit(0),
			(err: unknown) => {
				sidecar.logger.error({ err }, 'drain failed');
				process.exit(1);
			},
		);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
	console.error(err);
	process.exit(1);
});
