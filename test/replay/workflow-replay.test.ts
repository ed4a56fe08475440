// Replays recorded histories against the current workflow code, with no server needed.
// - current-release/: runs of this release's code (`npm run record-histories`). Each must
//   replay: a failure here is a nondeterministic workflow change within the release.
// - previous-release/: runs recorded by the release before. Those runs may still be open when
//   this release rolls out. A history that no longer replays is acceptable only because its
//   runs are pinned to the version that started them (worker/versioning.ts); if its workflow
//   were AUTO_UPGRADE, those runs would move to this code and fail, so the test fails.
// At a release, previous-release/ is replaced by current-release/, then current-release/ is
// re-recorded (test/fixtures/histories/README.md).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { versioningBehaviorOf } from '../../worker/versioning';
import * as workflows from '../../workflows';
import { WorkflowType } from '../../workflows/names';

const histories = join(__dirname, '..', 'fixtures', 'histories');
const workflowsPath = require.resolve('../../workflows');

interface Recorded {
  file: string;
  workflowType: string;
  /** As exported by the Temporal CLI and UI: Worker.runReplayHistory converts it itself. */
  history: unknown;
}

function recorded(release: 'current-release' | 'previous-release'): Recorded[] {
  const dir = join(histories, release);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => {
      const history = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        events?: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
      };
      const workflowType = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      assert.ok(workflowType, `${release}/${file}: the first event is not a WorkflowExecutionStarted with a type`);
      return { file, workflowType, history };
    });
}

const replay = (r: Recorded) => Worker.runReplayHistory({ workflowsPath }, r.history, r.file);
const firstLine = (err: Error) => `${err.name}: ${err.message.split('\n')[0].slice(0, 300)}`;

describe('histories of the current release', () => {
  const current = recorded('current-release');

  test('there is a history of every workflow type (record them with npm run record-histories)', () => {
    const types = new Set(current.map((r) => r.workflowType));
    for (const type of Object.values(WorkflowType)) {
      assert.ok(types.has(type), `no history of workflow type ${type} in test/fixtures/histories/current-release/`);
    }
  });

  for (const r of current) {
    test(`${r.file} replays deterministically against the current workflow code`, () => replay(r));
  }
});

describe('histories of the previous release', () => {
  const summary: string[] = [];
  after(() => {
    if (summary.length > 0) console.log(`previous-release histories against this code:\n${summary.join('\n')}`);
  });

  for (const r of recorded('previous-release')) {
    test(`${r.file}: replays against the current code, or ${r.workflowType} runs are pinned to their version`, async (t) => {
      const failure = await replay(r).then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
      if (failure === undefined) {
        summary.push(`  replays        ${r.file}`);
        t.diagnostic('replays: runs of the previous release could continue on this code');
        return;
      }
      const workflow = (workflows as Record<string, object>)[r.workflowType];
      assert.ok(workflow, `${r.file}: workflow type ${r.workflowType} is no longer registered by the worker`);
      const behavior = versioningBehaviorOf(workflow);
      summary.push(`  needs pinning  ${r.file} (${failure.name}; ${r.workflowType} is ${behavior ?? 'unknown'})`);
      t.diagnostic(`does not replay, needs pinning: ${firstLine(failure)}`);
      assert.equal(
        behavior,
        'PINNED',
        `${r.file} no longer replays against this code (${firstLine(failure)}), so runs of ` +
          `${r.workflowType} started by the previous release must stay on it: its versioning behavior must be PINNED`,
      );
    });
  }
});
