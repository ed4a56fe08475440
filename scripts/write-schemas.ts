// Writes the JSON Schemas of the config and schedules files into schemas/ (npm run schemas),
// formatted as Prettier would, so that `npm run lint` passes on them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { JSON_SCHEMA_FILES, jsonSchemaOf } from '../config/json-schemas';

async function main(): Promise<void> {
  const root = join(__dirname, '..');
  for (const file of Object.keys(JSON_SCHEMA_FILES)) {
    const path = join(root, file);
    const options = await resolveConfig(path);
    writeFileSync(path, await format(JSON.stringify(jsonSchemaOf(file)), { ...options, filepath: path }));
    console.log(`wrote ${file}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
