import '@testing-library/jest-dom';
import { TextDecoder, TextEncoder } from 'node:util';

// jsdom has no TextEncoder, which OpenTelemetry's fetch instrumentation needs as it loads.
Object.assign(globalThis, { TextEncoder, TextDecoder });
