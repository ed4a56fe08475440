// Lint rules after Temporal's samples: type-aware, no floating promises, and no Node
// built-ins (or other I/O) in workflow code, which must stay deterministic.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // bin/ and scripts/*.js are plain CommonJS entry points that run without tsx.
  {
    ignores: ['node_modules/', '.tools/', '.stack/', '.scratch/', 'dist/', 'bin/', 'scripts/*.js', 'eslint.config.mjs'],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // node:test tracks the promises that describe/test/it return.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'test', 'it', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflow code must be deterministic: no Node built-ins.' },
            {
              group: [
                '@aws-sdk/*',
                'node-vault',
                'pino',
                '@temporalio/worker',
                '@temporalio/client',
                '@temporalio/activity',
              ],
              message: 'Workflow code must not do I/O; call an activity.',
            },
          ],
          paths: ['fs', 'http', 'https', 'crypto', 'child_process', 'net', 'os'].map((name) => ({
            name,
            message: 'Workflow code must be deterministic: no Node built-ins.',
          })),
        },
      ],
    },
  },
);
