// UTC calendar arithmetic for the RTC, on plain integers so reading the clock allocates nothing
// (no Date objects). Days count from 1970-01-01; the proleptic Gregorian calendar repeats every 400
// years (146097 days), which keeps the arithmetic exact for any date.

const DAYS_PER_400_YEARS = 146_097;
/** days from 0000-03-01 to 1970-01-01: counting years from March puts Feb 29 at a year's end */
const EPOCH_FROM_MARCH_0000 = 719_468;

/** Writes [year, month 1..12, day 1..31] for `days` since 1970-01-01 into `out`. */
export function civilFromDays(days: number, out: Int32Array): void {
  const shifted = days + EPOCH_FROM_MARCH_0000;
  const era = Math.floor(shifted / DAYS_PER_400_YEARS);
  const dayOfEra = shifted - era * DAYS_PER_400_YEARS; // 0..146096
  // every 4th year has a leap day, except every 100th, except every 400th (the era's last day)
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153); // 0 = March .. 11 = February
  out[2] = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  out[1] = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  out[0] = yearOfEra + era * 400 + (out[1] <= 2 ? 1 : 0);
}

/** Days since 1970-01-01 of a year/month/day (month 1..12). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const marchYear = month <= 2 ? year - 1 : year;
  const era = Math.floor(marchYear / 400);
  const yearOfEra = marchYear - era * 400;
  const monthFromMarch = month > 2 ? month - 3 : month + 9;
  const dayOfYear = Math.floor((153 * monthFromMarch + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * DAYS_PER_400_YEARS + dayOfEra - EPOCH_FROM_MARCH_0000;
}

/** 0 = Sunday .. 6 = Saturday; 1970-01-01 was a Thursday. */
export function weekdayFromDays(days: number): number {
  return (((days + 4) % 7) + 7) % 7;
}
