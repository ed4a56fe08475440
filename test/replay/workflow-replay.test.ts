// Replays recorded histories against the current workflow code. A change that would make a
// running workflow nondeterministic on upgrade fails here, with no server needed. Record new
// fixtures with `temporal workflow show -w ID --output json` (see README "Tests").
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from '@temporalio/worker';

const dir = join(__dirname, '..', 'fixtures', 'histories');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('there is a recorded history for every workflow type', () => {
  const types = new Set(fixtures.map((f) => f.split('-')[0]));
  for (const type of ['backup', 'restore', 'verify'])
    assert.ok(types.has(type), `no fixture for workflow type ${type}`);
});

for (const file of fixtures) {
  test(`history ${file} replays deterministically against the current workflow code`, async () => {
    const text = readFileSync(join(dir, file), 'utf8');
    // Passed as JSON: the worker converts it with its own protobuf instance.
    const history: unknown = JSON.parse(text);
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, file);
  });
}
