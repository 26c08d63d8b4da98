import { describe, it } from 'node:test';
import { createMemoryStore } from '../../src/stores/memory.js';
import { runStoreSuite } from '../../src/testing/index.js';

runStoreSuite({ name: 'memory', createStore: () => createMemoryStore(), test: { describe, it } });
