import { describe, it } from 'node:test';
import { runAdapterScenarios } from './_scenarios.js';
import { startFastify } from './_apps/fastify.js';

runAdapterScenarios({ name: 'Fastify', start: startFastify, test: { describe, it } });
