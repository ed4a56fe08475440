// The JSON Schemas editors check the config and schedules files with are generated from the
// schemas vsnap validates them with (config/json-schemas.ts); the committed files cannot drift.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { JSON_SCHEMA_FILES, jsonSchemaOf } from '../../config/json-schemas';

const root = join(__dirname, '..', '..');

describe('JSON Schemas for editors', () => {
  for (const file of Object.keys(JSON_SCHEMA_FILES)) {
    it(`${file} is what npm run schemas generates`, () => {
      const committed: unknown = JSON.parse(readFileSync(join(root, file), 'utf8'));

      assert.deepEqual(committed, jsonSchemaOf(file), `${file} is out of date: run npm run schemas and commit it`);
    });
  }

  it('the shipped configs name the config schema by a path that exists', () => {
    for (const config of ['deploy/kustomize/base/config.json', 'deploy/kustomize/overlays/staging/config.json']) {
      const { $schema } = JSON.parse(readFileSync(join(root, config), 'utf8')) as { $schema?: string };

      assert.ok($schema, `${config} has no "$schema"`);
      assert.equal(join(dirname(config), $schema), 'schemas/vsnap-config.schema.json', config);
    }
  });

  it('the shipped schedules file names the schedules schema on its first line, for yaml-language-server', () => {
    const file = 'deploy/schedules/schedules.yaml';
    const [first] = readFileSync(join(root, file), 'utf8').split('\n');
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);

    assert.ok(match, `${file} does not start with a yaml-language-server $schema comment`);
    assert.equal(join(dirname(file), match[1]), 'schemas/vsnap-schedules.schema.json');
    assert.ok(existsSync(join(root, dirname(file), match[1])));
  });
});
