// @ts-check
import tseslint from 'typescript-eslint';

/**
 * One no-restricted-imports rule per package folder; relative paths into another package count too. The forbidden
 * packages are gitignore-style `packages`, or a `regex` where one module is the exception (gitignore cannot
 * re-include a file below an excluded folder).
 */
function boundaries(rules) {
  return Object.entries(rules).map(([files, { packages, regex, why }]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            regex ? { regex, message: why } : { group: packages, message: why },
            { group: ['**/packages/*/src/**', '../../*/src/**', '../../../*/src/**'], message: `${why} (no relative imports into another package)` },
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['node_modules/', '.build/', '.sst/', '.localcloud/', 'cdk.out/', 'bench/results/', 'packages/cli/dist/', 'packages/console/dist/', 'packages/console/site/', '**/*.mjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // Package boundaries (DESIGN.md): core imports nothing of ours and no AWS SDK; localcloud nothing of ours (it is
  // AWS, not opsauto) but core's schedule expressions and event patterns, so that the emulator and what opsauto
  // decides from its config (when an automation fires, which event it takes) agree on one evaluator; aws only
  // core; functions never the CLI or the emulator.
  ...boundaries({
    'packages/core/**/*.ts': { packages: ['@opsauto/*', '@aws-sdk/*'], why: 'core is pure: no other package of ours, no AWS SDK' },
    'packages/localcloud/**/*.ts': {
      regex: '^@opsauto/(?!core/(schedule-expression|event-pattern)\\.js$)',
      why: 'localcloud emulates AWS and imports nothing of ours but @opsauto/core/schedule-expression.js and event-pattern.js',
    },
    'packages/aws/**/*.ts': { packages: ['@opsauto/functions', '@opsauto/cli', '@opsauto/localcloud'], why: 'aws adapters depend on core only' },
    'packages/functions/**/*.ts': { packages: ['@opsauto/cli', '@opsauto/localcloud'], why: 'functions never import the CLI or the emulator' },
  }),
  {
    // Tests read JSON fixtures and SDK outputs loosely; production code keeps the unsafe-* rules.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
