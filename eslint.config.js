import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', '.venv/', 'coverage/', 'docs/api/', 'src/backends/onnx/generated/', 'examples/browser/dist/', 'bench/out/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  // CommonJS config files of tools (dependency-cruiser's).
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
  // Plain-JavaScript build scripts run by Node.
  { files: ['scripts/**/*.mjs'], languageOptions: { globals: { URL: 'readonly', Buffer: 'readonly', process: 'readonly', console: 'readonly' } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
        },
      ],
    },
  },
);
