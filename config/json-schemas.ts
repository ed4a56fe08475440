// The JSON Schemas that editors check the config and schedules files with (VS Code, JetBrains,
// yaml-language-server), generated from the zod schemas that vsnap itself validates them with.
// `npm run schemas` writes them into schemas/; a unit test fails when the committed files differ.
import { z } from 'zod';
import { ConfigFileSchema } from './cluster-schema';
import { SchedulesFileSchema } from './schedules-schema';

/** Each committed JSON Schema file (relative to the repository root) and the schema it comes from. */
export const JSON_SCHEMA_FILES: Record<string, { schema: z.ZodType; source: string }> = {
  'schemas/vsnap-config.schema.json': { schema: ConfigFileSchema, source: 'config/cluster-schema.ts' },
  'schemas/vsnap-schedules.schema.json': { schema: SchedulesFileSchema, source: 'config/schedules-schema.ts' },
};

export function jsonSchemaOf(file: string): Record<string, unknown> {
  const { schema, source } = JSON_SCHEMA_FILES[file];
  const json = z.toJSONSchema(schema, {
    // Draft-07 is the draft every editor's validator reads.
    target: 'draft-07',
    // What a person writes: fields with a default may be left out, nothing is transformed yet.
    io: 'input',
    override: ({ jsonSchema }) => {
      // zod bounds every integer to JavaScript's safe range; a reader wants the bound that matters.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  });
  return { $comment: `Generated from ${source} by \`npm run schemas\`; do not edit.`, ...json };
}
