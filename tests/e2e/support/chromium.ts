/** Debian's chromium package (a browser is never downloaded); VA_CHROMIUM points elsewhere. */
export const CHROMIUM_PATH = process.env.VA_CHROMIUM ?? "/usr/bin/chromium";

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--autoplay-policy=no-user-gesture-required",
];

/** Flags for a headless run with a fake microphone; micAllowed=false leaves out the fake-UI flag, so the permission prompt is refused as a user would. */
export function chromiumArgs({ micAllowed = true } = {}): string[] {
  return micAllowed ? [...FLAGS, "--use-fake-ui-for-media-stream"] : [...FLAGS];
}
