export { cleanNumber, isNoNumber, splitNumbers } from './clean.js';
export { incomingKey, isRegion, type MatchKey, storedKey, storedKeys } from './keys.js';
export { maskNumber } from './mask.js';
export { regionOf } from './region.js';
