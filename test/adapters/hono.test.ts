import { describe, it } from 'node:test';
import { runAdapterScenarios } from './_scenarios.js';
import { startHono } from './_apps/hono.js';

runAdapterScenarios({ name: 'Hono', start: startHono, test: { describe, it } });
