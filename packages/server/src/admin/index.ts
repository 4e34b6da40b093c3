export { AdminLocal, callView, type AdminLocalOptions } from './local.ts';
export { AdminService, type AdminServiceOptions } from './service.ts';
export { Revoker, type RevokerOptions, type RevocationRecords } from './revoker.ts';
export type { PageRequest } from './paging.ts';
export { adminPeers, routeAdmin } from './peers.ts';
