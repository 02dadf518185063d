// How a duration is shown, the same everywhere: the call panel's clock, the portal's, the Voice Call
// form and list, the party's timeline (voice_agent/calling/display.py). Whole seconds, rounded down as
// a clock counts them; m:ss, or h:mm:ss from one hour. Both sides are tested against
// contracts/vectors/durations.json.

/** The whole seconds elapsed; nothing (null, negative, not a number) is 0. */
export function wholeSeconds(seconds: number | null): number {
  if (seconds === null || !Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.floor(seconds);
}

/** 38.6 → "0:38", 754 → "12:34", 3725 → "1:02:05". */
export function formatDuration(seconds: number | null): string {
  const total = wholeSeconds(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}
