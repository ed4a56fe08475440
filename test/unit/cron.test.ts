import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cronProblem } from '../../client/schedules/cron';

describe('cron validation for schedule files', () => {
  it('accepts the six-hourly rhythm and common forms', () => {
    for (const ok of [
      '0 */6 * * *',
      '0 3 * * 1',
      '15,45 1-5 * JAN-MAR MON-FRI',
      '*/5 * * * *',
      '@daily',
      '0 0 1 * 7',
      'CRON_TZ=Europe/Paris 0 3 * * 1',
      'TZ=America/New_York @daily',
      '0 */6 * * * # every six hours',
    ]) {
      assert.equal(cronProblem(ok), undefined, ok);
    }
  });

  it('names the field and the range of an out-of-range value', () => {
    assert.match(cronProblem('61 * * * *')!, /minute field 61 is out of range 0-59/);
    assert.match(cronProblem('0 24 * * *')!, /hour field 24 is out of range 0-23/);
    assert.match(cronProblem('0 0 0 * *')!, /day-of-month field 0 is out of range 1-31/);
  });

  it('rejects a wrong field count, a bad step, a backwards range and unknown names', () => {
    assert.match(cronProblem('0 */6 * *')!, /has 4 fields; cron needs 5/);
    assert.match(cronProblem('*/0 * * * *')!, /step "0"/);
    assert.match(cronProblem('0 5-1 * * *')!, /runs backwards/);
    assert.match(cronProblem('0 0 * FOO *')!, /"FOO", which is not a month/);
    assert.match(cronProblem('every day')!, /has 2 fields/);
  });

  it('refuses a time zone the time zone database does not know, naming it', () => {
    assert.match(cronProblem('CRON_TZ=Mars/Olympus 0 3 * * *')!, /time zone "Mars\/Olympus" is not an IANA time zone/);
    assert.match(cronProblem('CRON_TZ= 0 3 * * *')!, /time zone "" is not/);
  });

  it('still checks the fields after a zone prefix and before a comment', () => {
    assert.match(cronProblem('CRON_TZ=UTC 61 * * * *')!, /minute field 61 is out of range/);
    assert.match(cronProblem('0 */6 * * # comment')!, /has 4 fields/);
  });
});
