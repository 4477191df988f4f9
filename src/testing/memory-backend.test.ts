import { exerciseSecretBackend } from './exercise-secret-backend.js';
import { MemoryBackend } from './memory-backend.js';

exerciseSecretBackend('memory', () => Promise.resolve({ backend: new MemoryBackend('memory') }));
