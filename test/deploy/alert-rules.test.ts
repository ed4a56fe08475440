// The alert rules of deploy/prometheus/vsnap-alerts.yaml, read as Prometheus reads them: every
// rule is complete, names metrics the worker exports, and every "no success for too long" alert
// has an absent() companion, because that alert cannot fire once its metric is gone.
// (promtool would evaluate them, but it cannot be installed with `go install`: Prometheus' go.mod
// has replace directives.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { MetricMeter } from '@temporalio/common';
import { parse } from 'yaml';
import { createVsnapMetrics } from '../../activities/metrics';
import { root } from './kubernetes-tools';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const FILE = 'deploy/prometheus/vsnap-alerts.yaml';
const rules = (): Rule[] =>
  (parse(readFileSync(path.join(root, FILE), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
    (g) => g.rules,
  );

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };
/** A Prometheus duration ("10m", "14d", "1h30m") in seconds. */
function seconds(duration: string): number {
  const parts = [...duration.matchAll(/(\d+)([smhdw])/g)];
  assert.equal(parts.map((p) => p[0]).join(''), duration, `${duration} is not a Prometheus duration`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * DURATION_UNITS[unit], 0);
}

/** The names the worker's meter registers (the Prometheus exporter may add _total to counters). */
function exportedMetrics(): string[] {
  const names: string[] = [];
  const record = (name: string) => (names.push(name), {});
  const meter = { createGauge: record, createCounter: record, createHistogram: record } as unknown as MetricMeter;
  createVsnapMetrics(meter);
  return names;
}

/** "time() - max by (...) (<selector>) > a * b * c": the selector and the threshold in seconds. */
function staleness(expr: string): { selector: string; threshold: number } | undefined {
  const m = /^time\(\) - max by \([\w, ]+\) \((\w+\{[^}]*\})\) > ([\d *]+)$/.exec(expr);
  if (!m) return undefined;
  return { selector: m[1], threshold: m[2].split('*').reduce((p, n) => p * Number(n), 1) };
}

describe(FILE, () => {
  it('has complete rules: an expression, a severity, a summary, a valid for', () => {
    const names = new Set<string>();
    for (const rule of rules()) {
      assert.ok(!names.has(rule.alert), `${rule.alert} is defined twice`);
      names.add(rule.alert);
      assert.ok(rule.expr.trim(), `${rule.alert} has an expression`);
      assert.ok(['critical', 'warning'].includes(rule.labels?.severity ?? ''), `${rule.alert} has a severity`);
      assert.ok(rule.annotations?.summary, `${rule.alert} has a summary`);
      if (rule.for !== undefined) assert.ok(seconds(rule.for) > 0);
    }
  });

  it('names only metrics the worker exports', () => {
    const exported = exportedMetrics();
    for (const rule of rules()) {
      for (const [metric] of rule.expr.matchAll(/\bvsnap_\w+/g)) {
        assert.ok(exported.includes(metric.replace(/_total$/, '')), `${rule.alert}: ${metric} is not exported`);
      }
    }
  });

  it('pairs every "no success for too long" alert with an absent() alert on the same series', () => {
    const all = rules();
    const stale = all.flatMap((rule) => {
      const s = staleness(rule.expr);
      return s ? [{ rule, ...s }] : [];
    });
    assert.ok(stale.length >= 2, 'the backup and drill alerts are staleness alerts');
    for (const { rule, selector, threshold } of stale) {
      const companion = all.find((r) => r.expr === `absent(${selector})`);
      assert.ok(companion, `${rule.alert} has no absent(${selector}) companion`);
      assert.equal(companion.labels?.severity, rule.labels?.severity, `${companion.alert} is as severe`);
      // The gauge lives in the worker: after a rollout it is missing until the next success, so
      // the companion must wait at least as long as the staleness alert's threshold.
      assert.ok(companion.for, `${companion.alert} waits before firing`);
      assert.ok(
        seconds(companion.for) >= threshold,
        `${companion.alert}: for ${companion.for} < ${threshold} s, it would fire after every rollout`,
      );
      assert.ok(seconds(companion.for) <= 2 * threshold, `${companion.alert} fires within 2x the threshold`);
    }
  });

  it('uses absent() only as a companion', () => {
    const stale = new Set(rules().flatMap((r) => staleness(r.expr)?.selector ?? []));
    for (const rule of rules().filter((r) => r.expr.includes('absent('))) {
      const selector = /^absent\((.+)\)$/.exec(rule.expr)?.[1];
      assert.ok(selector && stale.has(selector), `${rule.alert} watches a series no staleness alert uses`);
    }
  });
});
