// Who may call what: the principals, their credential files, the bus's delivery signatures and the
// service admin token.
export * from './credentials';
export * from './principals';
export * from './service-admin';
