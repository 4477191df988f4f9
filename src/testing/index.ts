/**
 * `cofre/testing`: helpers for people who write a secret backend. Needs vitest (a peer dependency of this entry
 * point only).
 */
export { type BackendHarness, exerciseSecretBackend } from './exercise-secret-backend.js';
export { MemoryBackend } from './memory-backend.js';
