import test from 'ava';
import { civilFromDays, daysFromCivil, weekdayFromDays } from '../../../src/devices/calendar.js';

const DAY_MS = 86_400_000;

test('days ↔ dates agree with Date for 1600..2400', (t) => {
  const out = new Int32Array(3);
  let checked = 0;
  for (let days = Math.floor(Date.UTC(1600, 0, 1) / DAY_MS); days < Date.UTC(2400, 0, 1) / DAY_MS; days += 13) {
    const date = new Date(days * DAY_MS);
    civilFromDays(days, out);
    if (out[0] !== date.getUTCFullYear() || out[1] !== date.getUTCMonth() + 1 || out[2] !== date.getUTCDate()) {
      t.fail(`${days}: got ${out.join('-')}, want ${date.toISOString()}`);
      return;
    }
    if (daysFromCivil(out[0], out[1], out[2]) !== days || weekdayFromDays(days) !== date.getUTCDay()) {
      t.fail(`${days}: round trip or weekday wrong for ${date.toISOString()}`);
      return;
    }
    checked++;
  }
  t.true(checked > 22_000);
});

test('leap-year edges', (t) => {
  const out = new Int32Array(3);
  civilFromDays(daysFromCivil(2000, 2, 29) + 1, out);
  t.deepEqual([...out], [2000, 3, 1]);
  civilFromDays(daysFromCivil(2100, 2, 28) + 1, out);
  t.deepEqual([...out], [2100, 3, 1], '2100 is not a leap year');
  t.is(daysFromCivil(1970, 1, 1), 0);
  t.is(weekdayFromDays(-1), 3, '1969-12-31 was a Wednesday');
});
