// Typed linting: the rules that read types catch what tsc does not, above all a promise that
// nobody awaits or catches, and a type-only import that would stay in the emitted JavaScript.
import eslint from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', '.data/', 'scratch/', 'bench/results/', 'chaos-results/']),
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // Each file is typed by the tsconfig that includes it, as tsc types it.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // A leading underscore is how the code names what it leaves unused on purpose: a property
      // destructured out to drop it from the rest, or a parameter a signature requires.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Off: an async function without `await` is how the code implements a Promise-returning
      // interface (a stub, an in-memory store), and it turns a throw into a rejection as callers expect.
      '@typescript-eslint/require-await': 'off',
      // Off: deciders, stream-name helpers and stoppers are records of arrow functions behind
      // method-style interface members (`evolve(...)`, `stop()`); none uses `this`, so passing
      // `decider.evolve` or `db.stop` is safe, and every finding was that case.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Code that drives the API over HTTP types a JSON answer's body as `any` and reads it
    // directly, checking its shape with expect() or by status: the no-unsafe-* rules would flag
    // every such read (over 300 in test/ alone) without making any of it safer.
    files: ['test/**', 'chaos/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The few plain JavaScript files (jest's config and reporter, this file) are in no tsconfig.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', process: 'readonly', console: 'readonly' },
    },
  },
  {
    // The operator console's page script runs in the browser, as a classic script.
    files: ['src/api/console/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        history: 'readonly',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        crypto: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URLSearchParams: 'readonly',
        FormData: 'readonly',
        Node: 'readonly',
      },
    },
  },
);
