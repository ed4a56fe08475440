// The README is read by people who install vsnap, with nothing but this repository: it must not
// point outside it, speak of how the project was built, or use hosts of a real organisation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const lines = README.split('\n');

/** Each line matching `pattern`, as "line N: text", for a failure message that says where. */
function linesMatching(pattern: RegExp): string[] {
  return lines.flatMap((text, i) => (pattern.test(text) ? [`line ${i + 1}: ${text.trim()}`] : []));
}

/**
 * Domain names allowed besides example.com: the stack's own private names, Kubernetes service
 * names, and the API groups and registries a manifest or command must name as they are.
 */
const ALLOWED_DOMAINS = [
  /(^|\.)example\.com$/,
  /(^|\.)vsnap\.internal$/,
  /\.svc$/,
  /^kustomize\.toolkit\.fluxcd\.io$/,
  /^app\.kubernetes\.io$/,
  /(^|\.)dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$/,
];

describe('README', () => {
  test('starts with the two commands a new user runs', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
    const commands = firstBlock
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);
    assert.deepEqual(commands, ['npm run demo', 'npm test']);
  });

  test('points nowhere outside the repository', () => {
    assert.deepEqual(linesMatching(/\.\.\/shared|\.\.\/\.\.\//), []);
  });

  test('says nothing of how the project was developed', () => {
    assert.deepEqual(linesMatching(/\bseed/i), [], 'the replaced procedure is "the cron-job procedure"');
    assert.deepEqual(linesMatching(/\bissues?\s*#?\d+|(^|[\s(])#\d+\b|\bsession\s+\d+|\bhelper-\d+/i), []);
  });

  test("uses example.com (or the stack's own names) for hosts", () => {
    const domains = new Set<string>();
    for (const match of README.matchAll(/\b(?:[a-z0-9-]+\.)+(?:com|io|net|org|dev|cloud|internal|svc)\b/gi)) {
      domains.add(match[0].toLowerCase());
    }
    const foreign = [...domains].filter((d) => !ALLOWED_DOMAINS.some((allowed) => allowed.test(d)));
    assert.deepEqual(foreign, [], 'use hosts under example.com');
  });

  test('every link to a section of the README finds its heading', () => {
    const anchors = new Set(
      lines
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) =>
          l
            .replace(/^#+ /, '')
            .trim()
            .toLowerCase()
            .replace(/[^\w\- ]/g, '')
            .replace(/ /g, '-'),
        ),
    );
    const broken = [...README.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]).filter((a) => !anchors.has(a));
    assert.deepEqual(broken, []);
  });
});
