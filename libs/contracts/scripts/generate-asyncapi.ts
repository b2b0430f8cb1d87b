// Regenerates libs/contracts/asyncapi.json from the registry: `npm run asyncapi`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAsyncApiDocument, renderAsyncApiDocument } from '../src/asyncapi';

const target = join(__dirname, '..', 'asyncapi.json');
writeFileSync(target, renderAsyncApiDocument(buildAsyncApiDocument()));
console.log(`wrote ${target}`);
