// cronProblem accepts exactly what the Temporal server accepts. Each case below was put to a
// real server (the local stack's dev server, Temporal 1.32.0): a schedule created with the
// expression as its cron string, described back (spec.calendars, spec.intervals), then deleted.
// "accepted" and the quoted errors are what the server answered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cronListProblem, cronProblem } from '../../client/schedules/cron';

const accepted = (expressions: string[]) => {
  for (const e of expressions) assert.equal(cronProblem(e), undefined, e);
};

describe('cron validation for schedule files', () => {
  it('accepts the six-hourly rhythm and common forms', () => {
    accepted([
      '0 */6 * * *',
      '0 3 * * 1',
      '15,45 1-5 * JAN-MAR MON-FRI',
      '*/5 * * * *',
      '@daily',
      '0 0 1 * 7',
      'CRON_TZ=Europe/Paris 0 3 * * 1',
      'TZ=America/New_York @daily',
      '0 */6 * * * # every six hours',
    ]);
  });

  it('names the field and the range of an out-of-range value', () => {
    // Temporal: "Minute is not in range [0-59]", "Hour is not in range [0-23]", "DayOfMonth is not in range [1-31]".
    assert.match(cronProblem('61 * * * *')!, /minute field 61 is out of range 0-59/);
    assert.match(cronProblem('0 24 * * *')!, /hour field 24 is out of range 0-23/);
    assert.match(cronProblem('0 0 0 * *')!, /day-of-month field 0 is out of range 1-31/);
  });

  it('rejects a wrong field count, a bad step, a backwards range and unknown names', () => {
    // Temporal: "CronString does not have 5-7 fields", "Minute has invalid Step",
    // "Hour End is before Start or not in range [0-23]", "Month is not in range [1-12]".
    assert.match(cronProblem('0 */6 * *')!, /has 4 fields; cron needs 5/);
    assert.match(cronProblem('0 0 3 * * * * *')!, /has 8 fields/);
    assert.match(cronProblem('*/0 * * * *')!, /step "0"/);
    assert.match(cronProblem('0 5-1 * * *')!, /runs backwards/);
    assert.match(cronProblem('0 0 * FOO *')!, /"FOO", which is not a month/);
    assert.match(cronProblem('every day')!, /has 2 fields/);
    assert.match(cronProblem('# only a comment')!, /has 0 fields/);
  });

  it('refuses a time zone the time zone database does not know, naming it', () => {
    // Temporal: "unknown time zone Mars/Olympus".
    assert.match(cronProblem('CRON_TZ=Mars/Olympus 0 3 * * *')!, /time zone "Mars\/Olympus" is not an IANA time zone/);
    // Temporal: "CronString has time zone but missing fields".
    assert.match(cronProblem('CRON_TZ=Europe/Paris')!, /has a time zone but no schedule after it/);
  });

  it('still checks the fields after a zone prefix and before a comment', () => {
    assert.match(cronProblem('CRON_TZ=UTC 61 * * * *')!, /minute field 61 is out of range/);
    assert.match(cronProblem('0 */6 * * # comment')!, /has 4 fields/);
  });
});

describe('cron: the field counts Temporal reads', () => {
  it('reads 6 fields as the five and a YEAR, not seconds first, and 7 as second, the five, year', () => {
    // "0 3 * * * 2030": hour 3, year 2030. "0 0 3 * * *": minute 0, hour 0, day-of-month 3, any
    // year (a Quartz reader would expect 03:00:00 daily). "30 0 3 * * * 2030": second 30, hour 3.
    accepted(['0 3 * * * 2030', '0 0 3 * * *', '0 3 * * * *', '30 0 3 * * * 2030', '59 0 3 * * * *']);
    accepted(['0 3 * * * 2000', '0 3 * * * 2100', '0 3 * * * */2']);
  });

  it('takes years 2000 to 2100 and seconds 0 to 59', () => {
    // Temporal: "Year is not in range [2000-2100]" for 1969, 1970, 2147; "Second is not in range [0-59]".
    assert.match(cronProblem('0 3 * * * 1999')!, /year field 1999 is out of range 2000-2100/);
    assert.match(cronProblem('0 3 * * * 2101')!, /year field 2101 is out of range/);
    assert.match(cronProblem('60 0 3 * * * *')!, /second field 60 is out of range 0-59/);
    // A 6-field Quartz-style string with a day-of-week lands its last field on the year.
    assert.match(
      cronProblem('0 0 3 * * MON')!,
      /year field "MON" has "MON", which is not a year; of 6 fields Temporal reads the last as the year/,
    );
  });
});

describe('cron: shorthands and @every', () => {
  it('takes the lowercase shorthands only', () => {
    accepted(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly', '@daily # comment']);
    // Temporal: "CronString does not have 5-7 fields" for each.
    for (const refused of ['@Daily', '@DAILY', '@reboot', '@daily extra', '@EVERY 1h']) {
      assert.match(cronProblem(refused)!, /has [12] fields/, refused);
    }
  });

  it('takes @every with a Go duration (d for days), at least 1s, and an offset below the interval', () => {
    accepted(['@every 1h', '@every 90m', '@every 1h30m', '@every 30s', '@every 1s', '@every 1000ms']);
    accepted(['@every 1d', '@every 1.5d', '@every 1d12h', '@every .5h', '@every 1.h', '@every +1h', '@every 2562047h']);
    accepted(['@every 1h/15m', '@every 1h/0s', '@every 1h/', '@every 1s/999ms', '@every 1h # comment']);
    // Temporal drops the zone of an interval: "CRON_TZ=Europe/Paris @every 1h" has timezone "".
    accepted(['CRON_TZ=Europe/Paris @every 1h', 'CRON_TZ=Mars/Olympus @every 1h']);
  });

  it('refuses what Temporal refuses in @every', () => {
    // Temporal: "interval is too small" (999ms, 500ms, 0s, -1h, 1µs).
    for (const tooSmall of ['@every 999ms', '@every 0s', '@every 0', '@every -1h', '@every 1µs']) {
      assert.match(cronProblem(tooSmall)!, /shorter than 1s/, tooSmall);
    }
    // Temporal: "phase cannot be greater than Interval" (2h and 1h offsets of 1h), "phase is negative".
    assert.match(cronProblem('@every 1h/2h')!, /offset "2h" must be shorter than the interval "1h"/);
    assert.match(cronProblem('@every 1h/1h')!, /must be shorter than the interval/);
    assert.match(cronProblem('@every 1h/-1m')!, /offset "-1m" is negative/);
    // Temporal: `time: missing unit in duration "30"`, `unknown unit "H"`, `unknown unit "h @daily"`,
    // `invalid duration " 1h"` (two spaces), `invalid duration "2562048h"` (over 64 bits of ns).
    for (const malformed of [
      '@every 30',
      '@every 1h30',
      '@every 1H',
      '@every 1h @daily',
      '@every  1h',
      '@every 2562048h',
    ]) {
      assert.match(cronProblem(malformed)!, /is not a duration such as 90s/, malformed);
    }
    // Temporal: "CronString does not have interval after @every".
    assert.match(cronProblem('@every')!, /@every needs an interval/);
    assert.match(cronProblem('@everyday')!, /@every needs an interval/);
  });
});

describe('cron: values, names, steps and ranges as Temporal parses them', () => {
  it('takes names of at least 3 letters for months and 2 for days, in any case, and 7 for Sunday', () => {
    accepted(['0 3 * * mon', '0 3 * * mo', '0 3 * * MONDAY', '0 3 * jan *', '0 3 * janu *', '0 3 * JANUARY *']);
    accepted(['0 3 * * sun-sat', '0 3 * * 0-7', '0 3 * * 3-7', '0 3 * * 7-7', '0 3 * dec *', '0 3 * 1 mon']);
    // Temporal: "DayOfWeek is not in range [0-7]" (m, 8), "Month is not in range [1-12]" (ja, janx, 13).
    assert.match(cronProblem('0 3 * * m')!, /"m", which is not a day-of-week/);
    assert.match(cronProblem('0 3 * * 8')!, /day-of-week field 8 is out of range 0-7/);
    assert.match(cronProblem('0 3 * ja *')!, /"ja", which is not a month/);
    assert.match(cronProblem('0 3 * janx *')!, /"janx", which is not a month/);
    assert.match(cronProblem('0 3 * 13 *')!, /month field 13 is out of range 1-12/);
    // Temporal: "DayOfWeek End is before Start or not in range [0-7]"; "Month End is before Start ...".
    for (const backwards of [
      '0 3 * * sat-sun',
      '0 3 * * 7-0',
      '0 3 * * 5-2',
      '0 3 * * FRI-MON',
      '0 3 * DECEMBER-JAN *',
    ]) {
      assert.match(cronProblem(backwards)!, /runs backwards/, backwards);
    }
  });

  it('takes any step of 1 or more, a start with a step, a sign and leading zeros', () => {
    // "*/24" hours and "*/60" minutes fire once; "5/15" is 5, 20, 35, 50.
    accepted(['0 */24 * * *', '*/60 * * * *', '*/90 * * * * * *', '5/15 * * * *', '0 1-10/3 * * *', '1-5/2,8 3 * * *']);
    accepted(['0 3 * * MON-FRI/2', '0 3 * * 6/7', '05 03 * * *', '0 3 * * +1', '0 3 * * */+2', '0 3 31 2 *']);
    // Temporal: "DayOfWeek has too many slashes", "... too many dashes", "Hour Start is not in range [0-23]",
    // "Minute is not in range [0-59]" (an empty list item), `strconv.Atoi: ... value out of range`.
    assert.match(cronProblem('0 3 * * 1/2/3')!, /more than one "\/"/);
    assert.match(cronProblem('0 3 * * 1-2-3')!, /more than one "-"/);
    assert.match(cronProblem('0 -1 * * *')!, /hour field "-1" is malformed/);
    assert.match(cronProblem('0,,5 3 * * *')!, /minute field "0,,5" is malformed/);
    assert.match(cronProblem('0 3 * * 1,')!, /is malformed/);
    assert.match(cronProblem('*/99999999999999999999 * * * *')!, /step "99999999999999999999"/);
    // Temporal: "DayOfMonth is not in range [1-31]" / "DayOfWeek is not in range [0-7]": no L, W, ? or #n.
    for (const quartz of ['0 3 L * *', '0 3 ? * MON', '0 3 15W * *', '0 3 * * 1L']) {
      assert.notEqual(cronProblem(quartz), undefined, quartz);
    }
  });
});

describe('cron: zone prefix and comment', () => {
  it('takes CRON_TZ= or TZ=, an empty zone (UTC), UTC, Local and IANA names and aliases as spelled', () => {
    // "CRON_TZ= 0 3 * * *" is accepted with timezone "": UTC.
    accepted(['CRON_TZ= 0 3 * * *', 'TZ= @daily', 'TZ=UTC 0 3 * * *', 'CRON_TZ=Local 0 3 * * *']);
    accepted(['CRON_TZ=Etc/GMT+5 0 3 * * *', 'CRON_TZ=US/Pacific 0 3 * * *', 'CRON_TZ=EST5EDT 0 3 * * *']);
    accepted(['CRON_TZ=GMT 0 3 * * *', 'CRON_TZ=Etc/UTC 0 3 * * *', 'CRON_TZ=Asia/Kolkata 0 3 * * *']);
    accepted(['CRON_TZ=Europe/Kyiv 0 3 * * *', 'TZ=UTC  0 3 * * *', ' TZ=UTC 0 3 * * *', '  0 3 * * *  ']);
    accepted(['0\t3\t*\t*\t*', '0  3 * *   *']);
  });

  it('refuses a zone spelled in the wrong case, an offset, and a prefix Temporal does not read', () => {
    // Temporal: "unknown time zone utc", "... europe/paris", "... local", "... +01:00", "... UTC#x".
    assert.match(cronProblem('CRON_TZ=utc 0 3 * * *')!, /time zone "utc" is not .*case-sensitive: UTC/);
    assert.match(cronProblem('CRON_TZ=europe/paris 0 3 * * *')!, /case-sensitive: Europe\/Paris/);
    assert.match(cronProblem('CRON_TZ=Europe/PARIS 0 3 * * *')!, /case-sensitive: Europe\/Paris/);
    assert.match(cronProblem('CRON_TZ=local 0 3 * * *')!, /time zone "local"/);
    assert.match(cronProblem('CRON_TZ=+01:00 0 3 * * *')!, /time zone "\+01:00"/);
    assert.match(cronProblem('CRON_TZ=UTC#x 0 3 * * *')!, /time zone "UTC#x"/);
    // Temporal: `strconv.Atoi: parsing "Paris"` (a lowercase prefix is read as fields), "Minute is
    // not in range [0-59]" (a second prefix), 5-7 fields (a tab ends no prefix: the zone runs on).
    assert.notEqual(cronProblem('cron_tz=Europe/Paris 0 3 * * *'), undefined);
    assert.notEqual(cronProblem('CRON_TZ=Europe/Paris CRON_TZ=UTC 0 3 * * *'), undefined);
    assert.notEqual(cronProblem('CRON_TZ=Europe/Paris\t0 3 * * *'), undefined);
    assert.notEqual(cronProblem('CRON_TZ=Europe/Paris 0 3 * * * TZ=UTC'), undefined);
  });

  it('cuts the comment at the first #, anywhere, and takes at most 200 bytes of it', () => {
    // "0 3 * * MON#2" is accepted as Mondays with the comment "2": no nth-weekday.
    accepted([
      '0 3 * * *#nightly',
      '0 3 * * * #',
      '0 3 * * * # a # b',
      '0 3 * * MON#2',
      `0 3 * * * # ${'x'.repeat(200)}`,
    ]);
    // Temporal: "invalid calendar spec: comment is too long".
    assert.match(cronProblem(`0 3 * * * # ${'x'.repeat(201)}`)!, /comment is 201 bytes; Temporal takes at most 200/);
    // Temporal: 5-7 fields: the comment swallowed the fields.
    assert.notEqual(cronProblem('#x 0 3 * * *'), undefined);
    assert.notEqual(cronProblem('TZ=Europe/Paris # 0 3 * * *'), undefined);
  });

  it('refuses a list whose expressions name different zones: a schedule has one', () => {
    // Temporal: "conflicting timezone names" for each refused list; the others were accepted.
    assert.equal(cronListProblem(['CRON_TZ=Europe/Paris 0 3 * * *', 'TZ=Europe/Paris 0 4 * * *']), undefined);
    assert.equal(cronListProblem(['0 3 * * *', '@every 1h']), undefined);
    assert.equal(cronListProblem(['CRON_TZ= 0 3 * * *', '0 4 * * *']), undefined);
    assert.equal(cronListProblem(['CRON_TZ=Europe/Paris @every 1h', '@every 2h']), undefined);
    for (const refused of [
      ['CRON_TZ=Europe/Paris 0 3 * * *', 'CRON_TZ=UTC 0 4 * * *'],
      ['CRON_TZ=Europe/Paris 0 3 * * *', '0 4 * * *'],
      ['CRON_TZ=UTC 0 3 * * *', '0 4 * * *'],
      ['CRON_TZ=Europe/Paris 0 3 * * *', '@every 1h'],
    ]) {
      assert.match(cronListProblem(refused)!, /name different time zones .*give each the same CRON_TZ= prefix/);
    }
  });
});
