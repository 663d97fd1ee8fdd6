export { MemoryTokenStore } from './store/memory.js';
export type { MemoryTokenStoreOptions } from './store/memory.js';
export type { RefreshTokenStore, SessionRecord, NewFamily, RotateRequest, RotateResult } from './store/types.js';
export { shardKeyOf, shardKeyOfFamily } from './store/shard.js';
