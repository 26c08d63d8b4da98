import { describe, it } from 'node:test';
import { runAdapterScenarios } from './_scenarios.js';
import { startKoa } from './_apps/koa.js';

runAdapterScenarios({ name: 'Koa', start: startKoa, test: { describe, it } });
