// A restore among other people: an operator's own generate-root attempt is left alone, a
// cancellation in the middle of generate-root leaves nothing open and says the target is
// unchanged, and a wrapped root token unwrapped by someone else stops the run as tampering.
// Real stack: drill is reached through fault proxies that hold one kind of request, so the
// test can act while the run is exactly at that point.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { decodeOptionalSinglePayload } from '@temporalio/common/lib/internal-non-workflow';
import type { HandedToken } from '../../activities/token-handoff';
import type { backup } from '../../workflows/backup';
import { FailureType } from '../../workflows/names';
import type { restore } from '../../workflows/restore';
import type { RestoreProgress } from '../../workflows/restore-steps';
import type { ClusterConfig } from '../../worker/config';
import { drillTokenAccessors, drillVault, generateRootStarted, markDrill } from '../helpers/drill';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy';
import { failureOf, start, waitForProgress } from '../helpers/runs';
import {
  isolatedCluster,
  stackConfig,
  stackEnv,
  stackUpstreamTls,
  startTestWorker,
  type TestWorker,
} from '../helpers/stack';
import { until } from '../helpers/worker-process';

describe('restores among other operators', () => {
  const stackDrill = stackConfig().clusters.find((c) => c.name === 'drill')!;
  const prod = isolatedCluster('prod');
  let heldGenerateRoot: FaultProxy;
  let heldUnwrap: FaultProxy;
  let worker: TestWorker;

  before(async () => {
    const proxy = (path: string, delayMs: number) =>
      startFaultProxy(stackEnv.VSNAP_DRILL_ADDR, {
        upstreamTls: stackUpstreamTls('drill'),
        delayPath: path,
        delayMs,
      });
    heldGenerateRoot = await proxy('/v1/sys/generate-root/update', 10_000);
    heldUnwrap = await proxy('/v1/sys/wrapping/unwrap', 15_000);
    const via = (name: string, p: FaultProxy): ClusterConfig => ({ ...stackDrill, name, address: p.address });
    worker = await startTestWorker({
      clusters: [prod, stackDrill, via('drill-gr', heldGenerateRoot), via('drill-unwrap', heldUnwrap)],
    });
    await (await start<typeof backup>(worker, 'backup', { cluster: 'prod' })).result();
  });

  after(async () => {
    await worker?.stop();
    await heldGenerateRoot?.close();
    await heldUnwrap?.close();
  });

  test("an operator's generate-root attempt survives a restore, which fails naming it and changes nothing", async () => {
    const marker = await markDrill();
    const theirs = await drillVault.request<{ nonce: string }>('generate-root start', {
      method: 'PUT',
      path: '/sys/generate-root/attempt',
      json: {},
    });
    try {
      const failure = await failureOf(await start<typeof restore>(worker, 'restore', { target: 'drill' }));
      assert.equal(failure.type, FailureType.GenerateRootInProgress);
      assert.match(failure.message, new RegExp(`nonce ${theirs.nonce}`));
      assert.match(failure.message, /drill is unchanged/);
      const status = await drillVault.request<{ started: boolean; nonce: string }>('generate-root status', {
        method: 'GET',
        path: '/sys/generate-root/attempt',
      });
      assert.equal(status.started, true, "the operator's attempt is still open");
      assert.equal(status.nonce, theirs.nonce, 'and it is the same attempt');
      await marker.assertUnchanged();
    } finally {
      await drillVault.request('generate-root cancel', { method: 'DELETE', path: '/sys/generate-root/attempt' });
    }
  });

  test('cancelled during generate-root: no attempt is left open, no token is left, and the run says drill is unchanged', async () => {
    const marker = await markDrill();
    const tokensBefore = new Set(await drillTokenAccessors());
    const handle = await start<typeof restore>(worker, 'restore', { target: 'drill-gr', source: 'prod' });
    await waitForProgress<RestoreProgress>(handle, (p) => p.step === 'regenerate-root');
    await until('a key share is held by the proxy', () => Promise.resolve(heldGenerateRoot.delayedRequests >= 1));
    await handle.cancel();
    const err = await handle.result().then(
      () => assert.fail('the restore should have been cancelled'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));

    // The run reports only once its step has stopped and cleaned up, so this holds at once.
    assert.equal(await generateRootStarted(), false, 'no generate-root attempt left open');
    const leaked = (await drillTokenAccessors()).filter((a) => !tokensBefore.has(a));
    assert.deepEqual(leaked, [], 'no token the cancelled run made is left on drill');
    const { memo } = await handle.describe();
    assert.equal(memo?.vsnapTargetChanged, 'no');
    await marker.assertUnchanged();
  });

  test('a wrapped root token unwrapped ahead of the workflow fails the run as tampering, before anything is sent', async () => {
    const marker = await markDrill();
    const handle = await start<typeof restore>(worker, 'restore', { target: 'drill-unwrap', source: 'prod' });
    await until('the restore step is about to unwrap its token', () =>
      Promise.resolve(heldUnwrap.delayedRequests >= 1),
    );

    // Someone who can read the history (and the codec keys) takes the token first.
    const handed = await handedToken(handle);
    const stolen = await drillVault.request<{ data: { token: string } }>('unwrap', {
      method: 'POST',
      path: '/sys/wrapping/unwrap',
      token: handed.wrapped,
    });
    await drillVault.request('revoke', { method: 'POST', path: '/auth/token/revoke-self', token: stolen.data.token });

    const failure = await failureOf(handle);
    assert.equal(failure.type, FailureType.WrappedTokenReused);
    assert.match(failure.message, /POSSIBLE TAMPERING/);
    assert.match(failure.message, /drill-unwrap is unchanged/);
    await marker.assertUnchanged();
  });

  /** The wrapped token the last regenerateRoot handed over, decoded as the worker would. */
  async function handedToken(handle: Awaited<ReturnType<typeof start>>): Promise<HandedToken> {
    const history = await handle.fetchHistory();
    const scheduled = new Map<string, string>();
    let last: HandedToken | undefined;
    for (const event of history.events ?? []) {
      const s = event.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(event.eventId), s.activityType?.name ?? '');
      const done = event.activityTaskCompletedEventAttributes;
      if (done && scheduled.get(String(done.scheduledEventId)) === 'regenerateRoot') {
        last =
          (await decodeOptionalSinglePayload<HandedToken>(
            worker.temporal.client.options.loadedDataConverter,
            done.result?.payloads?.[0],
          )) ?? undefined;
      }
    }
    assert.ok(last?.wrapped, 'the history holds a wrapped token from regenerateRoot');
    return last;
  }
});
