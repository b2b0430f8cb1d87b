import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// Contracts and config are below everything; the test kit (waitFor) depends on nothing of
// ours, so any project's specs may use it; telemetry (spans, metrics, logs) is used at
// every layer and depends only on contracts and config.
const everyLayer = ['type:contracts', 'type:config', 'type:testing', 'type:telemetry'];

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/tmp/**', '**/coverage/**', '.nx/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          banTransitiveDependencies: false,
          depConstraints: [
            // The wire contract stands alone: it imports nothing of ours.
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:config', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: [] },
            {
              sourceTag: 'type:telemetry',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:config', 'type:testing'],
            },
            // Ports know the contracts and other ports (the outbox relay publishes through the
            // bus port); they never know an adapter.
            { sourceTag: 'type:port', onlyDependOnLibsWithTags: ['type:port', ...everyLayer] },
            // Adapters implement a port; never another adapter. Their specs run the port's
            // contract suite.
            {
              sourceTag: 'type:adapter',
              onlyDependOnLibsWithTags: [
                'type:port',
                'type:contract-suites',
                'type:sqlite',
                ...everyLayer,
              ],
            },
            // SQLite plumbing the embedded adapters share (the WAL checkpointer); it knows no port.
            { sourceTag: 'type:sqlite', onlyDependOnLibsWithTags: ['type:testing'] },
            // The composition root picks adapters from config.
            {
              sourceTag: 'type:engines',
              onlyDependOnLibsWithTags: ['type:adapter', 'type:port', 'type:sqlite', ...everyLayer],
            },
            // A service process's runtime (Nest wiring, start-up, shutdown) on the engines it opens.
            {
              sourceTag: 'type:runtime',
              onlyDependOnLibsWithTags: ['type:engines', 'type:port', ...everyLayer],
            },
            // Contract suites take the adapter under test from the adapter's own spec.
            {
              sourceTag: 'type:contract-suites',
              onlyDependOnLibsWithTags: ['type:port', ...everyLayer],
            },
            // Scopes: a bus project knows only the bus and the shared layers; so does a store
            // project, except that the store port's outbox relay publishes through the bus port
            // (and the type rules above keep that to port -> port).
            {
              sourceTag: 'scope:bus',
              onlyDependOnLibsWithTags: [
                'scope:bus',
                'type:contract-suites',
                'type:sqlite',
                ...everyLayer,
              ],
            },
            {
              allSourceTags: ['type:adapter', 'scope:store'],
              onlyDependOnLibsWithTags: [
                'scope:store',
                'type:contract-suites',
                'type:sqlite',
                ...everyLayer,
              ],
            },
            {
              allSourceTags: ['type:port', 'scope:store'],
              onlyDependOnLibsWithTags: ['scope:store', 'scope:bus', ...everyLayer],
            },
            // A service never imports another service.
            {
              sourceTag: 'type:service',
              onlyDependOnLibsWithTags: [
                'type:domain',
                'type:engines',
                'type:runtime',
                'type:port',
                // A service's specs may act as an upstream system or a reviewer.
                'type:client',
                ...everyLayer,
              ],
            },
            // Domain libraries know ports and the shared layers; signing (a leaf on the
            // contracts) too: the agents' catalog applies only releases an operator signed.
            {
              sourceTag: 'type:domain',
              onlyDependOnLibsWithTags: ['type:port', 'type:signing', ...everyLayer],
            },
            // The SDK for upstream systems and reviewers: it is handed a Bus, and signs a
            // reviewer's verdicts with the key it is given (libs/signing, verdict-proof.ts).
            {
              sourceTag: 'type:client',
              onlyDependOnLibsWithTags: ['type:port', 'type:signing', ...everyLayer],
            },
            // The deployment files' checks read each service's config schema and make keys.
            {
              sourceTag: 'type:deploy',
              onlyDependOnLibsWithTags: [
                'type:service',
                'type:engines',
                'type:runtime',
                'type:signing',
                ...everyLayer,
              ],
            },
            // Benchmarks of libraries and services measure adapters and gates directly. The
            // benchmarks of the whole system use the app's launcher and CLI, and Nx forbids
            // importing an app, so they live in the app (apps/leash/bench).
            {
              sourceTag: 'type:bench',
              onlyDependOnLibsWithTags: [
                'type:service',
                'type:domain',
                'type:engines',
                'type:adapter',
                'type:port',
                'type:signing',
                ...everyLayer,
              ],
            },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:service',
                'type:client',
                'type:domain',
                'type:engines',
                'type:runtime',
                'type:port',
                ...everyLayer,
              ],
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.object.name=/^(describe|it|test)$/][callee.property.name='only']",
          message: 'No .only in committed tests.',
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
];
