// Resolves the @leash/* aliases of tsconfig.base.json to the compiled files of
// `npm run build` (dist/, or LEASH_DIST), so the built services and CLI run on
// plain node: `node -r ./tools/build/register.js dist/apps/leash/src/cli.js`.
const path = require('node:path');
const { register } = require('tsconfig-paths');
const { compilerOptions } = require('../../tsconfig.base.json');

const dist = path.resolve(process.env.LEASH_DIST || path.join(__dirname, '../../dist'));
const paths = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, targets]) => [
    alias,
    targets.map((target) => target.replace(/\.ts$/, '')),
  ]),
);
register({ baseUrl: dist, paths, addMatchAll: false });
