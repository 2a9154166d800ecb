import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/', 'libs/store/src/generated/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/libs/*/src/*', '!**/libs/testing/src/*'],
              message: 'import a library by its #name',
            },
          ],
        },
      ],
    },
  },
  {
    // libs/oci is pure: no I/O, no framework.
    files: ['libs/oci/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['pg', 'fs', 'node:fs', 'node:http', '@nestjs/common', '@nestjs/core'],
          patterns: ['#store', '#registry', '#ingest'],
        },
      ],
    },
  },
  {
    // The CLI loads every command's module at start-up: a library only one command needs is
    // loaded where that command runs (await import), and the sync walk comes from #ingest/sync.
    files: ['apps/cli/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['#ingest', '#verify', '#answers'].map((name) => ({
            name,
            allowTypeImports: true,
            message: 'load it where the command runs (await import), or the walk from #ingest/sync',
          })),
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.test.ts', 'test/**/*.ts', 'libs/testing/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // The explorer's browser modules: TypeScript (checkJs, lib DOM) already reports undefined names.
    files: ['apps/ui/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
  {
    // Node scripts and config files outside the TypeScript project: linted without type information.
    files: ['*.js', '*.ts', 'scripts/*.mjs', 'bench/**/*.mjs'],
    ignores: ['apps/**', 'libs/**', 'test/**'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        Buffer: 'readonly',
        performance: 'readonly',
      },
    },
  },
);
