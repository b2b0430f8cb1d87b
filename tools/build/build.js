// `npm run build`: compiles every service, library and the CLI to JavaScript
// under dist/ (or the directory given), keeping the source layout, then
// stamps the build so bin/leash can tell it from sources edited since.
const { execFileSync } = require('node:child_process');
const { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '../..');
const out = path.resolve(process.argv[2] || path.join(root, 'dist'));
rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    require.resolve('typescript/bin/tsc'),
    '-p',
    path.join(root, 'tsconfig.build.json'),
    '--outDir',
    out,
  ],
  { stdio: 'inherit' },
);
// Files the code reads at run time beside itself: the reference agents' folders
// (agent.yaml, prompt.md, policy.cedar, tools.yaml, rubric.yaml).
const DATA_FILE = /(\.cedar|(^|[\\/])(agent|tools|rubric)\.(yaml|yml|json)|(^|[\\/])prompt\.md)$/;
for (const top of ['apps', 'libs', 'services']) {
  for (const file of readdirSync(path.join(root, top), { recursive: true })) {
    if (!DATA_FILE.test(String(file)) || String(file).includes('node_modules')) continue;
    mkdirSync(path.dirname(path.join(out, top, file)), { recursive: true });
    cpSync(path.join(root, top, file), path.join(out, top, file));
  }
}
const { version } = require(path.join(root, 'package.json'));
// The telemetry reads the version from the package.json three levels above each lib's src/.
writeFileSync(path.join(out, 'package.json'), `${JSON.stringify({ version, private: true })}\n`);
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, '.built'), `${new Date().toISOString()}\n`);
