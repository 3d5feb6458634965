// The JSON Schema of factory.yml, emitted from the zod schema the controller itself parses with, so editors complete
// and check the same shape. Published at schema/factory.schema.json (`npm run schema`); a test keeps it fresh.
import { z } from 'zod';
import { configFieldsSchema as configSchema } from './config-schema.js';

export const SCHEMA_PATH = 'schema/factory.schema.json';
export const SCHEMA_ID = 'https://github.com/ainative-academy/factory/raw/main/schema/factory.schema.json';

export function configJsonSchema(): Record<string, unknown> {
  // `input`: what a person writes ("90s", "4g"), not the numbers the controller turns them into. Cross-section checks
  // (unknown profiles, trust) are not expressible here; `factory validate` still makes them.
  const schema = z.toJSONSchema(configSchema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  return {
    ...schema,
    $id: SCHEMA_ID,
    title: 'factory.yml',
    description: 'Settings of the factory controller (factory validate checks what this schema cannot)',
  };
}

export const configJsonSchemaText = () => `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
