import { describe, it } from 'node:test';
import { runAdapterScenarios } from './_scenarios.js';
import { startFetch } from './_apps/fetch.js';

runAdapterScenarios({ name: 'fetch', start: startFetch, test: { describe, it } });
