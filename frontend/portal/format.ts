import { formatDuration } from "../shared/duration";

/** 0 → "0:00", 75 → "1:15", 3700 → "1:01:40": the app's one duration format (shared/duration.ts). */
export const formatClock = formatDuration;

/** Text for the timer: elapsed and the time left before the call is cut. */
export function describeTime(elapsedSec: number, maxDurationSec: number): { text: string; label: string; nearEnd: boolean } {
  const left = Math.max(0, maxDurationSec - elapsedSec);
  return {
    text: `${formatClock(elapsedSec)} / ${formatClock(maxDurationSec)}`,
    label: `${formatClock(elapsedSec)} elapsed, ${formatClock(left)} left`,
    nearEnd: left <= 30,
  };
}
