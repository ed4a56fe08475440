import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toScheduleOptions } from '../../client/schedules/apply-schedules';
import { parseScheduleFile, rhythmOf, ScheduleFileError } from '../../client/schedules/schedule-file';

const file = (...lines: string[]) => ['schedules:', ...lines, ''].join('\n');

function problemsOf(text: string): string[] {
  try {
    parseScheduleFile('s.yaml', text, ['prod']);
  } catch (err) {
    assert.ok(err instanceof ScheduleFileError, String(err));
    return err.problems;
  }
  return assert.fail('the file should have been rejected');
}

describe('schedule file: cron or every', () => {
  it("keeps the cron-job procedure's cron when neither is given", () => {
    const [d] = parseScheduleFile('s.yaml', file('  - id: b', '    kind: backup', '    cluster: prod'));
    assert.deepEqual(d.cron, ['0 */6 * * *']);
    assert.equal(d.every, undefined);
    assert.equal(rhythmOf(d), '"0 */6 * * *"');
  });

  it('accepts an interval in whole seconds, minutes, hours or days, instead of cron', () => {
    for (const every of ['1s', '2s', '30m', '1h', '7d']) {
      const [d] = parseScheduleFile(
        's.yaml',
        file('  - id: b', '    kind: backup', '    cluster: prod', `    every: ${every}`),
      );
      assert.equal(d.every, every);
      assert.deepEqual(d.cron, [], 'no cron when every sets the rhythm');
      assert.equal(rhythmOf(d), `every ${every}`);
    }
  });

  it('a cron schedule has no "every" key, so its content hash is what it was before "every" existed', () => {
    const [d] = parseScheduleFile(
      's.yaml',
      file('  - id: b', '    kind: backup', '    cluster: prod', '    cron: "0 3 * * *"'),
    );
    assert.equal('every' in d, false);
  });

  it('rejects an interval that is not a duration or under a second, naming the line and the fix', () => {
    for (const [every, expected] of [
      ['0s', /s\.yaml:5: "every" must be at least 1s, got "0s"/],
      ['500ms', /s\.yaml:5: "every" must be a duration like 30s, 5m or 1h \(whole seconds, at least 1s\), got "500ms"/],
      ['5', /s\.yaml:5: "every" must be a duration like 30s, 5m or 1h .*got 5$/],
      ['soon', /s\.yaml:5: "every" must be a duration .*got "soon"/],
      ['"-5s"', /s\.yaml:5: "every" must be a duration .*got "-5s"/],
    ] as const) {
      const problems = problemsOf(file('  - id: b', '    kind: backup', '    cluster: prod', `    every: ${every}`));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0], expected);
    }
  });

  it('rejects cron and every together, naming the line of every', () => {
    const problems = problemsOf(
      file('  - id: b', '    kind: backup', '    cluster: prod', '    cron: "0 * * * *"', '    every: 5m'),
    );
    assert.deepEqual(problems, ['s.yaml:6: give either "cron" or "every", not both; remove one of them']);
  });

  it('an interval becomes a Temporal interval spec, and changing it changes the content hash', () => {
    const options = (rhythm: string) =>
      toScheduleOptions(
        parseScheduleFile('s.yaml', file('  - id: b', '    kind: backup', '    cluster: prod', rhythm))[0],
        'q',
      );
    const every = options('    every: 2s');
    assert.deepEqual(every.spec, { intervals: [{ every: '2s' }], jitter: '5m' });
    assert.equal(every.action.memo?.vsnapEvery, '2s');
    assert.equal(every.action.memo?.vsnapCron, undefined);
    const cron = options('    cron: "0 * * * *"');
    assert.deepEqual(cron.spec, { cronExpressions: ['0 * * * *'], jitter: '5m' });
    const hashes = [every, options('    every: 3s'), cron].map((o) => o.action.memo?.vsnapSpecHash);
    assert.equal(new Set(hashes).size, 3, 'every distinct rhythm has its own hash');
    assert.equal(options('    every: 2s').action.memo?.vsnapSpecHash, hashes[0], 'the same file hashes the same');
  });
});

describe('schedule file: checked by its schema (config/schedules-schema.ts), then by what a schema cannot say', () => {
  it('lists every problem in the order of the file, each with its line, the field and the fix', () => {
    const problems = problemsOf(
      file(
        '  - id: Backup_Prod',
        '    kind: backup',
        '    cluster: staging',
        '    cron: "61 * * * *"',
        '    jitter: soon',
        '    frequency: 5',
        '  - id: drill',
        '    kind: restore',
        '    cluster: prod',
        '  - 7',
      ),
    );

    assert.deepEqual(problems, [
      's.yaml:2: "id" must be lowercase letters, digits and dashes (at most 63), e.g. "backup-prod", got "Backup_Prod"',
      's.yaml:4: unknown cluster "staging"; the config has: prod',
      's.yaml:5: invalid cron "61 * * * *": minute field 61 is out of range 0-59',
      's.yaml:6: "jitter" must be a duration such as 5m or 1h, got "soon"',
      's.yaml:7: "frequency" is not a known field; allowed here: id, kind, cluster, cron, every, jitter, catchupWindow, pauseOnFailure, paused, note, input',
      's.yaml:9: "kind" must be one of backup, verify, got "restore"',
      's.yaml:11: schedules[2] must be a mapping with id, kind, cluster, got 7',
    ]);
  });

  it('points at the cron of a list that Temporal would refuse, and at a list that mixes time zones', () => {
    const problems = problemsOf(
      file(
        '  - id: b',
        '    kind: backup',
        '    cluster: prod',
        '    cron:',
        '      - "0 3 * * *"',
        '      - "0 3 * * * 1999"',
      ),
    );
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0],
      /^s\.yaml:7: invalid cron "0 3 \* \* \* 1999": year field 1999 is out of range 2000-2100;/,
    );

    const zones = problemsOf(
      file(
        '  - id: b',
        '    kind: backup',
        '    cluster: prod',
        '    cron: ["CRON_TZ=Europe/Paris 0 3 * * *", "0 4 * * *"]',
      ),
    );
    assert.equal(zones.length, 1, zones.join('\n'));
    assert.match(
      zones[0],
      /^s\.yaml:5: invalid cron: the expressions name different time zones \(Europe\/Paris, none\)/,
    );
  });

  it('fills in the defaults of each kind', () => {
    const [backup, verify] = parseScheduleFile(
      's.yaml',
      file('  - id: b', '    kind: backup', '    cluster: prod', '  - id: v', '    kind: verify', '    cluster: prod'),
    );

    assert.deepEqual(backup, {
      id: 'b',
      kind: 'backup',
      cluster: 'prod',
      cron: ['0 */6 * * *'],
      jitter: '5m',
      catchupWindow: '1h',
      pauseOnFailure: false,
      paused: false,
      input: {},
    });
    assert.deepEqual(
      [verify.cron, verify.jitter, verify.catchupWindow, verify.pauseOnFailure],
      [['0 3 * * 1'], '10m', '6h', true],
    );
  });

  it('keeps the content hash of every schedule as it was before the schema, so apply finds nothing to update', () => {
    const schedules = parseScheduleFile(
      's.yaml',
      file(
        '  - id: b',
        '    kind: backup',
        '    cluster: prod',
        '    every: 2s',
        '    note: hi',
        '    paused: true',
        '  - id: v',
        '    kind: verify',
        '    cluster: prod',
        '    cron: ["0 1 * * *", "0 2 * * *"]',
        '    input: { maxAgeDays: 3, snapshot: latest }',
      ),
    );

    // Hashes computed by the hand-written parser this schema replaced.
    assert.deepEqual(
      schedules.map((d) => toScheduleOptions(d, 'q').action.memo?.vsnapSpecHash),
      ['15682fb242f0b1d9', '5f7a75ebb9ff09c4'],
    );
  });
});
