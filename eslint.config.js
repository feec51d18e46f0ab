import tseslint from 'typescript-eslint';
export default tseslint.config(
  { ignores: ['node_modules/', 'build/', 'dist/', 'filters/'] },
  ...tseslint.configs.recommended,
  { rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }] } },
);
