// The bench runs from the repo as documented (npm run bench -- --quick) and produces its table
// and JSON. A smoke test: it checks the bench works and reports ratios, not that vsnap is fast
// (performance claims live in bench/ results, never in timed assertions).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BenchResult } from '../../bench/report';
import { repoRoot } from '../helpers/stack';

test('npm run bench -- --quick prints the table and writes the JSON result', () => {
  const out = mkdtempSync(join(tmpdir(), 'vsnap-bench-'));
  const run = spawnSync('npm', ['run', 'bench', '--', '--quick', '--out', out], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(run.status, 0, `${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`);
  assert.match(run.stdout, /vsnap\/limit\s+vsnap\/cron-job/);
  assert.match(run.stdout, /^backup\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+x\s+[\d.]+x$/m);
  assert.match(run.stdout, /^restore\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+x\s+[\d.]+x$/m);
  assert.match(run.stdout, /^worker CPU\s+[\d.]+ CPU-s per GiB backed up, [\d.]+ per GiB restored/m);
  const files = readdirSync(out).filter((f) => f.endsWith('.json'));
  assert.equal(files.length, 1);
  const result = JSON.parse(readFileSync(join(out, files[0]), 'utf8')) as BenchResult;
  for (const [name, value] of Object.entries({
    backupVsLimit: result.ratios.backupVsLimit,
    backupVsCronJob: result.ratios.backupVsCronJob,
    restoreVsCronJob: result.ratios.restoreVsCronJob,
    backupVsUploadAlone: result.ratios.backupVsUploadAlone,
    backupWorkerCpuSecondsPerGiB: result.cpu.backupWorkerCpuSecondsPerGiB,
    restoreWorkerCpuSecondsPerGiB: result.cpu.restoreWorkerCpuSecondsPerGiB,
    peakRssMiBSmall: result.memory.peakRssMiBSmall,
    peakRssMiBLarge: result.memory.peakRssMiBLarge,
    emptyBackupSeconds: result.overhead.emptyBackupSeconds,
  })) {
    assert.ok(Number.isFinite(value) && value > 0, `${name} = ${value}`);
  }
  assert.equal(result.rounds, 1);
  assert.equal(result.network, undefined, '--quick leaves the modelled network out');
  assert.equal(result.machine.node, process.version);
  assert.ok(result.sizes.snapshotBytes > 30 * 2 ** 20, 'the quick run filled prod with 32 MiB');
});
