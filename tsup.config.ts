import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'adapters/node': 'src/adapters/node.ts',
    'adapters/fetch': 'src/adapters/fetch.ts',
    'adapters/express': 'src/adapters/express.ts',
    'adapters/fastify': 'src/adapters/fastify.ts',
    'adapters/koa': 'src/adapters/koa.ts',
    'adapters/hono': 'src/adapters/hono.ts',
    'stores/memory': 'src/stores/memory.ts',
    'stores/sqlite': 'src/stores/sqlite.ts',
    'stores/file': 'src/stores/file.ts',
    'stores/redis': 'src/stores/redis.ts',
    'stores/memcached': 'src/stores/memcached.ts',
    'stores/postgres': 'src/stores/postgres.ts',
    'stores/mysql': 'src/stores/mysql.ts',
    'testing/index': 'src/testing/index.ts',
    'testing/child': 'src/testing/child.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'node20',
  splitting: true,
  sourcemap: true,
  // import.meta.url in the CommonJS build (the testing module finds its child script by it).
  shims: true,
});
