import { configJsonSchema } from '../../config/config-json-schema.js';
import { type CliIo, println } from './cli-io.js';

/** `cofre config schema`: the JSON Schema of cofre.yaml on stdout, for editors. */
export function configSchema(io: CliIo): void {
  println(io.stdout, JSON.stringify(configJsonSchema(), null, 2));
}
