// `factory schema`: prints the JSON Schema of factory.yml (the same text as schema/factory.schema.json).
import { configJsonSchemaText } from '../config/config-json-schema.js';
import { act, EXIT, newCommand } from './command-line.js';
import type { Io } from './io.js';

export function schemaCommand(io: Io) {
  const cmd = newCommand('schema', io).summary('print the JSON Schema of the config file (for editors)');
  return act(cmd, async () => {
    io.stdout(configJsonSchemaText().trimEnd());
    return EXIT.ok;
  });
}
