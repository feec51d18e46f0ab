import tseslint from 'typescript-eslint';
export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'build/',
      'dist/',
      'filters/',
      'test/host/probes/',
      'test/sdk/probes/',
      'test/bench/fixtures/',
    ],
  }, // AssemblyScript folders
  ...tseslint.configs.recommended,
  { rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }] } },
);
