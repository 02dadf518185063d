/** 0 → "0:00", 75 → "1:15", 3700 → "1:01:40". */
export function formatClock(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/** Text for the timer: elapsed and the time left before the call is cut. */
export function describeTime(elapsedSec: number, maxDurationSec: number): { text: string; label: string; nearEnd: boolean } {
  const left = Math.max(0, maxDurationSec - elapsedSec);
  return {
    text: `${formatClock(elapsedSec)} / ${formatClock(maxDurationSec)}`,
    label: `${formatClock(elapsedSec)} elapsed, ${formatClock(left)} left`,
    nearEnd: left <= 30,
  };
}
